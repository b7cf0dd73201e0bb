package ec2fake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IMDS header names (IMDSv2).
const (
	TokenHeader    = "X-Aws-Ec2-Metadata-Token"
	TokenTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
)

// RoleName is the instance profile role whose credentials every fake
// metadata server hands out.
const RoleName = "hbd-eip"

// IMDSMode is how a fake metadata server behaves.
type IMDSMode int

const (
	// IMDSNormal answers as IMDS with HttpTokens=required: a token first,
	// then metadata with the token; 401 without one.
	IMDSNormal IMDSMode = iota
	// IMDSTokenHang never answers the token PUT (the client times out), as
	// IMDS seen from a bridged container when the instance's
	// HttpPutResponseHopLimit is 1: the answer dies one hop short.
	IMDSTokenHang
	// IMDSTokenForbidden answers the token PUT with 403, as IMDS does when
	// it is turned off (HttpEndpoint=disabled).
	IMDSTokenForbidden
)

// IMDS is one instance's fake metadata server.
type IMDS struct {
	f          *Fake
	srv        *httptest.Server
	instanceID string

	mu     sync.Mutex
	mode   IMDSMode
	tokens map[string]time.Time // token → expiry
}

// NewIMDS starts a metadata server for instance id (which should have been
// added with AddInstance). The Fake's Close stops it too.
func (f *Fake) NewIMDS(instanceID string) *IMDS {
	m := &IMDS{f: f, instanceID: instanceID, tokens: map[string]time.Time{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	f.mu.Lock()
	f.imds = append(f.imds, m)
	f.mu.Unlock()
	return m
}

// URL is the metadata endpoint (imds.Options.Endpoint,
// AWS_EC2_METADATA_SERVICE_ENDPOINT).
func (m *IMDS) URL() string { return m.srv.URL }

// Serve answers this metadata server's requests on l as well, until the
// Fake's Close (see Fake.Serve).
func (m *IMDS) Serve(l net.Listener) error {
	return m.f.serveOn(l, http.HandlerFunc(m.serve))
}

// InstanceID is the instance this server describes.
func (m *IMDS) InstanceID() string { return m.instanceID }

// SetMode changes how the server behaves from the next request on.
func (m *IMDS) SetMode(mode IMDSMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mode = mode
}

// RoleCredentials are the access key id and secret the server's instance
// profile hands out (the EC2 fake records the key id of each call).
func (m *IMDS) RoleCredentials() (accessKeyID, secret string) {
	return "ASIAFAKE" + strings.ToUpper(strings.TrimPrefix(m.instanceID, "i-")), "fake-secret-" + m.instanceID
}

func (m *IMDS) serve(w http.ResponseWriter, r *http.Request) {
	call := Call{At: time.Now(), Service: "imds", Instance: m.instanceID, Method: r.Method, Path: r.URL.Path}
	answer := func(status int, contentType, body string) {
		call.Status = status
		m.f.record(call)
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Server", "EC2ws")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	m.mu.Lock()
	mode := m.mode
	m.mu.Unlock()

	if r.URL.Path == "/latest/api/token" {
		call.Token = r.Header.Get(TokenTTLHeader) != ""
		if r.Method != http.MethodPut {
			answer(http.StatusMethodNotAllowed, "text/plain", "")
			return
		}
		switch mode {
		case IMDSTokenHang:
			select {
			case <-r.Context().Done():
			case <-m.f.done:
			}
			m.f.record(call) // Status 0: never answered
			return
		case IMDSTokenForbidden:
			answer(http.StatusForbidden, "text/plain", "")
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get(TokenTTLHeader))
		if err != nil || ttl < 1 || ttl > 21600 {
			answer(http.StatusBadRequest, "text/plain", "")
			return
		}
		m.f.mu.Lock()
		tok := fmt.Sprintf("AQAEAFakeToken%08d==", m.f.nextID())
		m.f.mu.Unlock()
		m.mu.Lock()
		m.tokens[tok] = time.Now().Add(time.Duration(ttl) * time.Second)
		m.mu.Unlock()
		w.Header().Set(TokenTTLHeader, strconv.Itoa(ttl))
		answer(http.StatusOK, "text/plain", tok)
		return
	}

	tok := r.Header.Get(TokenHeader)
	call.Token = tok != ""
	if r.Method != http.MethodGet {
		answer(http.StatusMethodNotAllowed, "text/plain", "")
		return
	}
	m.mu.Lock()
	exp, ok := m.tokens[tok]
	m.mu.Unlock()
	if !ok || time.Now().After(exp) {
		answer(http.StatusUnauthorized, "text/plain", "")
		return
	}
	body, found := m.metadata(r.URL.Path)
	if !found {
		answer(http.StatusNotFound, "text/html", "<html><body><h1>404 - Not Found</h1></body></html>")
		return
	}
	ct := "text/plain"
	if strings.HasPrefix(body, "{") {
		ct = "application/json"
	}
	answer(http.StatusOK, ct, body)
}

// metadata answers a metadata path.
func (m *IMDS) metadata(path string) (string, bool) {
	in, _ := m.f.Instance(m.instanceID)
	region := m.f.Region()
	private := ""
	if len(in.PrivateIPs) > 0 {
		private = in.PrivateIPs[0]
	}
	key, secret := m.RoleCredentials()
	switch path {
	case "/latest/meta-data/instance-id":
		return m.instanceID, true
	case "/latest/meta-data/placement/region":
		return region, true
	case "/latest/meta-data/placement/availability-zone":
		return region + "a", true
	case "/latest/meta-data/local-ipv4":
		return private, true
	case "/latest/meta-data/iam/security-credentials", "/latest/meta-data/iam/security-credentials/":
		return RoleName, true
	case "/latest/meta-data/iam/security-credentials/" + RoleName:
		now := time.Now().UTC()
		b, _ := json.Marshal(map[string]string{
			"Code": "Success", "LastUpdated": now.Format(time.RFC3339), "Type": "AWS-HMAC",
			"AccessKeyId": key, "SecretAccessKey": secret, "Token": "fake-session-token",
			"Expiration": now.Add(6 * time.Hour).Format(time.RFC3339),
		})
		return string(b), true
	case "/latest/dynamic/instance-identity/document":
		b, _ := json.MarshalIndent(map[string]any{
			"accountId": DefaultOwnerID, "architecture": "x86_64", "availabilityZone": region + "a",
			"imageId": "ami-0fake", "instanceId": m.instanceID, "instanceType": "t3.micro",
			"pendingTime": "2026-11-01T10:00:00Z", "privateIp": private, "region": region, "version": "2017-09-30",
		}, "", "  ")
		return string(b), true
	}
	return "", false
}
