package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CAOptions describe a new certificate authority, with Nomad's defaults
// filled in by DefaultCAOptions.
type CAOptions struct {
	CommonName         string
	Organization       string
	OrganizationalUnit string
	Country            string
	Province           string
	Locality           string
	StreetAddress      string
	PostalCode         string
	Days               int
	// NameConstraint restricts the CA to Domain, localhost and
	// AdditionalDomains.
	NameConstraint    bool
	Domain            string
	AdditionalDomains []string
}

// DefaultCAOptions are the fields `nomad tls ca create` writes.
func DefaultCAOptions() CAOptions {
	return CAOptions{
		Organization: "HashiCorp Inc.", OrganizationalUnit: "Nomad", Country: "US",
		Province: "CA", Locality: "San Francisco", StreetAddress: "101 Second Street",
		PostalCode: "94105", Days: 5 * 365, Domain: "nomad",
	}
}

// GenerateCA creates a self-signed CA and returns its certificate and key
// as PEM.
func GenerateCA(o CAOptions) (certPEM, keyPEM []byte, err error) {
	if o.Days <= 0 {
		return nil, nil, errors.New("-days must be a positive number of days")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	cn := o.CommonName
	if cn == "" {
		cn = "Nomad Agent CA " + serial.String()
	}
	id, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName: cn, Organization: []string{o.Organization},
			OrganizationalUnit: []string{o.OrganizationalUnit}, Country: []string{o.Country},
			Province: []string{o.Province}, Locality: []string{o.Locality},
			StreetAddress: []string{o.StreetAddress}, PostalCode: []string{o.PostalCode},
		},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, o.Days),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          id,
		AuthorityKeyId:        id,
	}
	if o.NameConstraint {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = append([]string{o.Domain, "localhost"}, o.AdditionalDomains...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// CertOptions describe an agent or CLI certificate.
type CertOptions struct {
	// Role is "server", "client" or "cli"; the certificate is named
	// <role>.<region>.<domain>.
	Role   string
	Region string
	Domain string
	Days   int
	// DNSNames and IPAddresses are added to localhost (and, except for
	// CLI certificates, 127.0.0.1).
	DNSNames    []string
	IPAddresses []net.IP
	// NotBefore starts the validity period; zero starts it now.
	NotBefore time.Time
}

// Name is the certificate's common name.
func (o CertOptions) Name() string { return o.Role + "." + o.Region + "." + o.Domain }

// GenerateCert creates a certificate signed by the CA given as PEM.
func GenerateCert(o CertOptions, caCertPEM, caKeyPEM []byte) (certPEM, keyPEM []byte, err error) {
	switch o.Role {
	case "server", "client", "cli":
	default:
		return nil, nil, fmt.Errorf("certificate role %q: want server, client or cli", o.Role)
	}
	if o.Days <= 0 {
		return nil, nil, errors.New("-days must be a positive number of days")
	}
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	id, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	dns := append([]string{o.Name(), "localhost"}, o.DNSNames...)
	var ips []net.IP
	if o.Role != "cli" {
		ips = append(ips, net.ParseIP("127.0.0.1"))
	}
	ips = append(ips, o.IPAddresses...)
	now := o.NotBefore
	if now.IsZero() {
		now = time.Now()
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: o.Name()},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, o.Days),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:              dns,
		IPAddresses:           ips,
		SubjectKeyId:          id,
		AuthorityKeyId:        ca.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// parseCA decodes a CA certificate and its key.
func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, any, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("CA file holds no PEM certificate")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, nil, errors.New("the CA file's certificate is not a CA")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("CA key file holds no PEM key")
	}
	var key any
	switch kb.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA key: %w", err)
	}
	return ca, key, nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n, nil
}

// keyID is the subject key identifier of a public key.
func keyID(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}
