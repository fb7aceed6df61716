package server

import "encoding/json"

// mustRoundTrip deep-copies in to out through JSON. The api types are
// plain data, so this cannot fail for them; a failure is a programming
// error.
func mustRoundTrip(in, out any) {
	buf, err := json.Marshal(in)
	if err != nil {
		panic("deep copy: " + err.Error())
	}
	if err := json.Unmarshal(buf, out); err != nil {
		panic("deep copy: " + err.Error())
	}
}
