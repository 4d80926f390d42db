// Package reliability holds what cmd/sitrep-reliability needs to prove the
// hub under crashes, faults and load: the real `sitrep serve` binary run as
// a child process, an API client, throwaway databases, SMTP servers that
// record or misbehave, and a TCP proxy that can be cut. Nothing here is a
// mock of sitrep: every figure comes from the real binary talking to real
// servers on loopback.
package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles ./cmd/sitrep from the module at root into dir and returns
// the binary's path. Run from the repository root, root is ".".
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "sitrep")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sitrep")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("reliability: go build: %w\n%s", err, out)
	}
	return bin, nil
}

// BuildHead compiles ./cmd/sitrep as committed at git HEAD (exported with
// git archive into dir/src), not as the work tree stands: figures of a
// known commit, whatever is half-written beside it.
func BuildHead(ctx context.Context, root, dir string) (string, error) {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "sh", "-c", "git -C \"$1\" archive HEAD | tar -x -C \"$2\"", "sh", root, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("reliability: git archive: %w\n%s", err, out)
	}
	bin, err := Build(ctx, src, dir)
	os.RemoveAll(src)
	return bin, err
}

// FreePort returns a loopback port that was free when asked.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("reliability: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Hub is one `sitrep serve` child process.
type Hub struct {
	Bin, Config string
	URL         string // http://127.0.0.1:PORT

	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

// StartHub starts `sitrep serve --config config` and waits until /readyz
// answers 200 (at most 60 s: a 100,000-person directory takes a while).
func StartHub(bin, config, url string) (*Hub, error) {
	h := &Hub{Bin: bin, Config: config, URL: url, log: &lockedBuffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(bin, "serve", "--config", config)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("reliability: start sitrep: %w", err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h, nil
			}
		}
		select {
		case <-h.done:
			return nil, fmt.Errorf("reliability: sitrep serve exited before ready:\n%s", h.LogTail(4000))
		default:
		}
		if time.Now().After(deadline) {
			h.Kill9()
			return nil, fmt.Errorf("reliability: sitrep serve not ready in 60s:\n%s", h.LogTail(4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the child's process id.
func (h *Hub) PID() int { return h.cmd.Process.Pid }

// Kill9 sends SIGKILL: no shutdown code runs, as in a power cut of the
// process.
func (h *Hub) Kill9() {
	h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

// Stop sends SIGTERM and waits up to 20 s before SIGKILL.
func (h *Hub) Stop() {
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		h.Kill9()
	}
}

// Exited reports whether the process has ended.
func (h *Hub) Exited() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// LogTail is the last n bytes the process wrote.
func (h *Hub) LogTail(n int) string {
	s := h.log.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// Log is everything the process wrote.
func (h *Hub) Log() string { return h.log.String() }

// Usage is what the kernel accounts for a process: peak resident memory
// (VmHWM) and CPU time (user + system), read from /proc while it runs.
type Usage struct {
	PeakRSSMB float64
	CPU       time.Duration
}

// Usage reads /proc for the running process; zero once it has exited.
func (h *Hub) Usage() Usage { return ProcUsage(h.PID()) }

// ProcUsage reads peak RSS and CPU time of pid from /proc.
func ProcUsage(pid int) Usage {
	var u Usage
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				if f := strings.Fields(line); len(f) >= 2 {
					kb, _ := strconv.ParseFloat(f[1], 64)
					u.PeakRSSMB = kb / 1024
				}
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// proc(5): the command name in field 2 may hold spaces; count
		// fields after its closing parenthesis. utime and stime are fields
		// 14 and 15, in clock ticks (100 a second on Linux).
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				u.CPU = time.Duration(ut+st) * 10 * time.Millisecond
			}
		}
	}
	return u
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Keep the last few MB: a long load run must not grow without bound.
	if l.b.Len() > 4<<20 {
		rest := l.b.Bytes()[l.b.Len()-(1<<20):]
		var nb bytes.Buffer
		nb.Write(rest)
		l.b = nb
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// API calls sitrep's /api/v1 with a bearer token.
type API struct {
	URL, Token string
	Client     *http.Client
}

// Do sends in as JSON and decodes the answer into out; a status of 300 or
// more is an error carrying the body.
func (a API) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// Incident is the part of the API's incident the driver reads.
type Incident struct {
	Ref string `json:"id"`
}

// Declare opens an incident.
func (a API) Declare(ctx context.Context, title, severity, commsLead, incidentLead string) (string, error) {
	var inc Incident
	in := map[string]any{"title": title, "severity": severity,
		"roles": map[string]string{"comms_lead": commsLead, "incident_lead": incidentLead}}
	if err := a.Do(ctx, "POST", "/incidents", in, &inc); err != nil {
		return "", err
	}
	return inc.Ref, nil
}

// Update is what POST /incidents/{ref}/updates returns.
type Update struct {
	Message struct {
		ID        int64  `json:"id"`
		MessageID string `json:"message_id"`
		Language  string `json:"language"`
		// Variants are the update in the audience's other languages.
		Variants []struct {
			ID        int64  `json:"id"`
			MessageID string `json:"message_id"`
			Language  string `json:"language"`
		} `json:"variants"`
	} `json:"message"`
}

// MessageIDs is the Message-ID of the update per language, and the rows
// of its messages.
func (u Update) MessageIDs() (byLang map[string]string, rows []int64) {
	byLang = map[string]string{u.Message.Language: u.Message.MessageID}
	rows = []int64{u.Message.ID}
	for _, v := range u.Message.Variants {
		byLang[v.Language] = v.MessageID
		rows = append(rows, v.ID)
	}
	return byLang, rows
}

// SendUpdate posts a status update to groups, the next one due in next
// ("" for the severity's default).
func (a API) SendUpdate(ctx context.Context, ref, status, next string, groups ...string) (Update, error) {
	var res Update
	in := map[string]any{"status": status, "groups": groups}
	if next != "" {
		in["next"] = next
	}
	err := a.Do(ctx, "POST", "/incidents/"+ref+"/updates", in, &res)
	return res, err
}

// Counts returns a message's deliveries by state; nil when the server does
// not answer.
func (a API) Counts(ctx context.Context, ref string, id int64) map[string]int {
	var out struct {
		Message struct {
			Counts map[string]int `json:"counts"`
		} `json:"message"`
	}
	if err := a.Do(ctx, "GET", fmt.Sprintf("/incidents/%s/messages/%d/deliveries?state=failed", ref, id), nil, &out); err != nil {
		return nil
	}
	return out.Message.Counts
}

// Delivery is one recipient's delivery as the API shows it.
type Delivery struct {
	Email     string `json:"email"`
	State     string `json:"state"`
	LastError string `json:"last_error"`
	Attempts  int    `json:"attempts"`
	// SentAt: when the server accepted it (its transaction's 250).
	SentAt *time.Time `json:"sent_at"`
}

// Deliveries lists a message's deliveries in state ("" for all), every
// page of them.
func (a API) Deliveries(ctx context.Context, ref string, id int64, state string) ([]Delivery, error) {
	q := url.Values{"limit": {"10000"}}
	if state != "" {
		q.Set("state", state)
	}
	var all []Delivery
	for {
		var out struct {
			Deliveries []Delivery `json:"deliveries"`
			NextAfter  int64      `json:"next_after"`
		}
		if err := a.Do(ctx, "GET", fmt.Sprintf("/incidents/%s/messages/%d/deliveries?%s", ref, id, q.Encode()), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Deliveries...)
		if out.NextAfter == 0 {
			return all, nil
		}
		q.Set("after", strconv.FormatInt(out.NextAfter, 10))
	}
}
