package agent

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// operatorKeyring serves /v1/operator/keyring/{keys,rotate,key/<id>}: the
// root keys that seal variables and sign workload identities, as Nomad's
// keyring API (management tokens only).
func (h *httpAPI) operatorKeyring(w http.ResponseWriter, r *http.Request) (any, error) {
	op := strings.TrimPrefix(r.URL.Path, "/v1/operator/keyring/")
	switch {
	case op == "keys":
		if r.Method != http.MethodGet {
			return nil, methodNotAllowed()
		}
		var keys []*api.RootKeyMeta
		err := h.blockingRead(w, r, func(snap *state.Snapshot) (uint64, error) {
			var index uint64
			var err error
			keys, index, err = server.KeyringMeta(snap)
			return index, err
		})
		return keys, err
	case op == "rotate":
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return nil, methodNotAllowed()
		}
		q := r.URL.Query()
		if algo := q.Get("algo"); algo != "" && algo != string(api.EncryptionAlgorithmAES256GCM) {
			return nil, codedError(http.StatusBadRequest, "Invalid algorithm %q: Roam supports only %s", algo, api.EncryptionAlgorithmAES256GCM)
		}
		full, _ := strconv.ParseBool(q.Get("full"))
		reply, err := h.srv.RotateRootKey(&structs.KeyringRotateArgs{Full: full, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, reply.Index)
		return struct{ Key *api.RootKeyMeta }{reply.Key}, nil
	case strings.HasPrefix(op, "key/"):
		if r.Method != http.MethodDelete {
			return nil, methodNotAllowed()
		}
		force, _ := strconv.ParseBool(r.URL.Query().Get("force"))
		index, err := h.srv.DeleteRootKey(&structs.KeyringDeleteArgs{KeyID: strings.TrimPrefix(op, "key/"), Force: force, WriteRequest: writeRequest(r)})
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return nil, nil
	}
	return nil, codedError(http.StatusNotFound, "unknown keyring operation %q", op)
}
