package fsapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
)

var upgrader = websocket.Upgrader{
	ReadBufferSize: 4096, WriteBufferSize: 4096,
	CheckOrigin: func(*http.Request) bool { return true },
}

// maxCloseText is the longest reason a close frame carries (125 bytes of
// payload, less the status code).
const maxCloseText = 123

// WebsocketError answers a websocket request that failed before it began
// (an unknown allocation or task, a bad command) as Nomad does: the
// socket is opened, then closed with msg, which Nomad's API client
// returns as the error.
func WebsocketError(w http.ResponseWriter, r *http.Request, msg string) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	if len(msg) > maxCloseText {
		msg = msg[:maxCloseText]
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, msg), time.Now().Add(5*time.Second))
}

// exec serves /v1/client/allocation/:id/exec: a websocket carrying
// api.ExecStreamingInput frames in and api.ExecStreamingOutput frames out.
func (h *handler) exec(w http.ResponseWriter, r *http.Request) error {
	ar, err := h.runner(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	task := q.Get("task")
	if task == "" {
		return badRequest("missing task name")
	}
	if !ar.HasTask(task) {
		return notFound("unknown task name %q", task)
	}
	var command []string
	if err := json.Unmarshal([]byte(q.Get("command")), &command); err != nil || len(command) == 0 {
		return badRequest("command is not a non-empty JSON array of strings")
	}
	tty, _ := strconv.ParseBool(q.Get("tty"))
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	defer conn.Close()
	s := newExecSession(conn)
	go s.readInput()
	code, err := ar.Exec(r.Context(), task, command, tty, drivers.ExecStreams{
		Stdin: s.stdinR, Stdout: s.writer(false), Stderr: s.writer(true), Resize: s.resize,
	})
	s.stdinR.Close()
	if err != nil {
		s.closeWith(websocket.CloseInternalServerErr, err.Error())
		return nil
	}
	s.send(&api.ExecStreamingOutput{Exited: true, Result: &api.ExecStreamingExitResult{ExitCode: code}})
	s.closeWith(websocket.CloseNormalClosure, "")
	return nil
}

// execSession moves frames between a websocket and a command's streams.
type execSession struct {
	conn   *websocket.Conn
	mu     sync.Mutex
	stdinR *io.PipeReader
	stdinW *io.PipeWriter
	resize chan drivers.TerminalSize
}

func newExecSession(conn *websocket.Conn) *execSession {
	pr, pw := io.Pipe()
	return &execSession{conn: conn, stdinR: pr, stdinW: pw, resize: make(chan drivers.TerminalSize, 4)}
}

// readInput forwards stdin and terminal sizes until the socket closes.
func (s *execSession) readInput() {
	defer s.stdinW.Close()
	for {
		var in api.ExecStreamingInput
		if err := s.conn.ReadJSON(&in); err != nil {
			return
		}
		if in.Stdin != nil {
			if len(in.Stdin.Data) > 0 {
				if _, err := s.stdinW.Write(in.Stdin.Data); err != nil {
					return
				}
			}
			if in.Stdin.Close {
				s.stdinW.Close()
			}
		}
		if in.TTYSize != nil {
			select {
			case s.resize <- drivers.TerminalSize{Width: in.TTYSize.Width, Height: in.TTYSize.Height}:
			default:
			}
		}
	}
}

func (s *execSession) send(out *api.ExecStreamingOutput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn.WriteJSON(out)
}

func (s *execSession) closeWith(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(code, text))
}

// streamWriter sends what a command writes as stdout or stderr frames.
type streamWriter struct {
	s      *execSession
	stderr bool
}

func (s *execSession) writer(stderr bool) *streamWriter { return &streamWriter{s: s, stderr: stderr} }

func (w *streamWriter) Write(p []byte) (int, error) {
	op := &api.ExecStreamingIOOperation{Data: append([]byte(nil), p...)}
	out := &api.ExecStreamingOutput{Stdout: op}
	if w.stderr {
		out = &api.ExecStreamingOutput{Stderr: op}
	}
	if err := w.s.send(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
