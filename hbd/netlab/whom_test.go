//go:build linux

package netlab

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWhomHandler(t *testing.T) {
	for _, whom := range []string{"node_1", "node_2"} {
		rec := httptest.NewRecorder()
		WhomHandler(whom).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anything", nil))
		if rec.Code != http.StatusOK || rec.Header().Get("X-Whom") != whom || rec.Body.String() != whom+"\n" ||
			rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: got %d %q %q %v", whom, rec.Code, rec.Header().Get("X-Whom"), rec.Body.String(), rec.Header())
		}
	}
}
