package structs

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/nomad/api"
)

// AllNamespaces is the wildcard that list endpoints accept to list the
// objects of every namespace.
const AllNamespaces = "*"

// maxNamespaceDescription bounds a namespace's description, as in Nomad.
const maxNamespaceDescription = 256

// validNamespaceName is Nomad's rule for namespace names.
var validNamespaceName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// ValidateNamespace checks a namespace a user wants to create or update:
// its name is 1 to 128 letters, digits and dashes, as in Nomad, and its
// description at most 256 characters.
func ValidateNamespace(ns *api.Namespace) error {
	if ns == nil {
		return fmt.Errorf("missing namespace")
	}
	if !validNamespaceName.MatchString(ns.Name) {
		return fmt.Errorf("invalid name %q. Must match regex %s", ns.Name, validNamespaceName)
	}
	if len(ns.Description) > maxNamespaceDescription {
		return fmt.Errorf("namespace %q: description longer than %d characters", ns.Name, maxNamespaceDescription)
	}
	return nil
}

// DefaultNamespaceObject is the namespace every cluster starts with; it
// cannot be deleted.
func DefaultNamespaceObject() *api.Namespace {
	return &api.Namespace{Name: DefaultNamespace, Description: "Default shared namespace", CreateIndex: 1, ModifyIndex: 1}
}

// NamespaceUpsertRequest is the Raft entry that creates or updates
// namespaces.
type NamespaceUpsertRequest struct {
	Namespaces []*api.Namespace
}

// NamespaceDeleteRequest is the Raft entry that deletes namespaces; it
// fails, changing nothing, when one of them still holds work.
type NamespaceDeleteRequest struct {
	Names []string
}
