package ocf

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// metadataTimeout bounds one `AGENT meta-data`.
	metadataTimeout = 10 * time.Second
	// maxMetadata bounds the meta-data read from an agent, far above the
	// few kilobytes an agent prints.
	maxMetadata = 1 << 20
	// maxMetadataStderr bounds what an agent's stderr adds to an error.
	maxMetadataStderr = 4 << 10
)

// Metadata is what an agent's meta-data action says about its
// parameters (the OCF resource agent API's <parameters> element).
type Metadata struct {
	Parameters []ParamInfo `xml:"parameters>parameter"`
}

// ParamInfo is one <parameter> of an agent's meta-data.
type ParamInfo struct {
	Name     string `xml:"name,attr"`
	Required string `xml:"required,attr"` // "1" or "true": must be given
	Content  struct {
		Type string `xml:"type,attr"` // string, integer, boolean ...
	} `xml:"content"`
}

func (p ParamInfo) required() bool { return p.Required == "1" || strings.EqualFold(p.Required, "true") }

// ParseMetadata reads the XML an agent's meta-data action prints.
func ParseMetadata(b []byte) (Metadata, error) {
	var m Metadata
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	if err := dec.Decode(&m); err != nil {
		return Metadata{}, fmt.Errorf("meta-data is not OCF XML: %w", err)
	}
	return m, nil
}

// Metadata runs the agent's meta-data action (Run: SIGTERM when
// metadataTimeout ends) and reads its parameters. At most maxMetadata
// bytes of its stdout are kept: an agent that prints without end fails
// the check instead of filling memory.
func (a Agent) Metadata(ctx context.Context) (Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	out := &capped{max: maxMetadata}
	stderr := &capped{max: maxMetadataStderr}
	code, err := a.Run(ctx, "meta-data", out, stderr)
	if err != nil {
		return Metadata{}, err
	}
	if code != Success {
		return Metadata{}, fmt.Errorf("%s meta-data: exit status %d %s", a.Path(), code, strings.TrimSpace(stderr.buf.String()))
	}
	if out.over {
		return Metadata{}, fmt.Errorf("%s meta-data: more than %d bytes", a.Path(), maxMetadata)
	}
	m, err := ParseMetadata(out.buf.Bytes())
	if err != nil {
		return Metadata{}, fmt.Errorf("%s: %w", a.Path(), err)
	}
	return m, nil
}

// capped keeps the first max bytes written to it and drops the rest,
// noting that it did.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.over = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

// Validate checks the agent's parameters against its meta-data: every
// parameter must be one the agent declares, every required one given,
// integers and booleans well formed. Each problem is one sentence that
// names the resource.
func (m Metadata) Validate(a Agent) []string {
	var out []string
	known := make(map[string]ParamInfo, len(m.Parameters))
	names := make([]string, 0, len(m.Parameters))
	for _, p := range m.Parameters {
		known[p.Name] = p
		names = append(names, p.Name)
	}
	given := map[string]bool{}
	for _, p := range a.Params {
		given[p.Name] = true
		info, ok := known[p.Name]
		if !ok {
			out = append(out, fmt.Sprintf("%s: the agent has no parameter %q (its parameters: %s)", a.spec(), p.Name, strings.Join(names, ", ")))
			continue
		}
		switch info.Content.Type {
		case "integer":
			if _, err := strconv.ParseInt(p.Value, 10, 64); err != nil {
				out = append(out, fmt.Sprintf("%s: %s=%q is not an integer", a.spec(), p.Name, p.Value))
			}
		case "boolean":
			if !slices.Contains([]string{"true", "false", "yes", "no", "1", "0", "on", "off"}, strings.ToLower(p.Value)) {
				out = append(out, fmt.Sprintf("%s: %s=%q is not a boolean (true or false)", a.spec(), p.Name, p.Value))
			}
		}
	}
	for _, p := range m.Parameters {
		if p.required() && !given[p.Name] {
			out = append(out, fmt.Sprintf("%s: the required parameter %s is missing (add ::%s=VALUE)", a.spec(), p.Name, p.Name))
		}
	}
	return out
}
