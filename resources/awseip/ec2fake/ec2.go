package ec2fake

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiError is an EC2 error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Status: statusFor(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusFor is the HTTP status EC2 answers an error code with.
func statusFor(code string) int {
	switch code {
	case "RequestLimitExceeded", "Unavailable":
		return http.StatusServiceUnavailable
	case "InternalError":
		return http.StatusInternalServerError
	case "UnauthorizedOperation", "Blocked":
		return http.StatusForbidden
	case "AuthFailure":
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// defaultMessage is a message shaped like EC2's for code.
func defaultMessage(code, action string, p url.Values) string {
	first := func(name string) string {
		if v := p.Get(name); v != "" {
			return v
		}
		return p.Get(name + ".1")
	}
	switch code {
	case "RequestLimitExceeded":
		return "Request limit exceeded."
	case "UnauthorizedOperation":
		// EC2 hides the details in an encoded message that only
		// sts:DecodeAuthorizationMessage can read; ours is base64 text.
		detail := fmt.Sprintf(`{"allowed":false,"explicitDeny":false,"matchedStatements":{"items":[]},"failures":{"items":[]},"context":{"action":"ec2:%s"}}`, action)
		return "You are not authorized to perform this operation. Encoded authorization failure message: " + base64.RawURLEncoding.EncodeToString([]byte(detail))
	case "InvalidAllocationID.NotFound":
		return fmt.Sprintf("The allocation ID '%s' does not exist", first("AllocationId"))
	case "Resource.AlreadyAssociated":
		return fmt.Sprintf("resource %s is already associated with associate-id eipassoc-00000000000000000", p.Get("AllocationId"))
	case "InvalidInstanceID.NotFound":
		return fmt.Sprintf("The instance ID '%s' does not exist", first("InstanceId"))
	case "InternalError":
		return "An internal error has occurred"
	case "AuthFailure":
		return "AWS was not able to validate the provided access credentials"
	}
	return code
}

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)

func (f *Fake) serveEC2(w http.ResponseWriter, r *http.Request) {
	call := Call{At: time.Now(), Service: "ec2", Method: r.Method, Path: r.URL.Path}
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		call.AccessKeyID = m[1]
	}
	answer := func(status int, body []byte, code string) {
		call.Status, call.Code = status, code
		f.record(call)
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
	fail := func(e *apiError, reqID string) {
		answer(e.Status, errorBody(e, reqID), e.Code)
	}

	f.mu.Lock()
	reqID := requestID(f.nextID())
	f.mu.Unlock()

	if r.Method != http.MethodPost {
		fail(errorf("InvalidHttpRequest", "The EC2 Query API is spoken with POST, not %s", r.Method), reqID)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		fail(errorf("InvalidParameterValue", "Content-Type must be application/x-www-form-urlencoded"), reqID)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(errorf("MalformedQueryString", "%v", err), reqID)
		return
	}
	p := r.PostForm
	call.Params, call.Action = p, p.Get("Action")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || call.AccessKeyID == "" || r.Header.Get("X-Amz-Date") == "" {
		fail(errorf("AuthFailure", "AWS was not able to validate the provided access credentials"), reqID)
		return
	}
	switch {
	case call.Action == "":
		fail(errorf("MissingAction", "The request must contain the parameter Action"), reqID)
		return
	case p.Get("Version") == "":
		fail(errorf("MissingParameter", "The request must contain the parameter Version"), reqID)
		return
	}
	handler, ok := map[string]func(url.Values, string) (any, *apiError){
		"AssociateAddress":    f.associateAddress,
		"DisassociateAddress": f.disassociateAddress,
		"DescribeAddresses":   f.describeAddresses,
		"DescribeInstances":   f.describeInstances,
		"StopInstances":       f.stopInstances,
	}[call.Action]
	if !ok {
		fail(errorf("InvalidAction", "The action %s is not valid for this web service.", call.Action), reqID)
		return
	}

	f.mu.Lock()
	ft := f.takeFault(call.Action)
	f.mu.Unlock()
	if ft != nil && !f.wait(r.Context(), ft.Delay) {
		call.Status = 0
		f.record(call) // the client gave up (or the fake closed) first
		return
	}
	var ferr *apiError
	if ft != nil && ft.Code != "" {
		ferr = &apiError{Status: ft.Status, Code: ft.Code, Message: ft.Message}
		if ferr.Status == 0 {
			ferr.Status = statusFor(ft.Code)
		}
		if ferr.Message == "" {
			ferr.Message = defaultMessage(ft.Code, call.Action, p)
		}
		if !ft.AfterApply {
			fail(ferr, reqID)
			return
		}
	}

	f.mu.Lock()
	out, aerr := handler(p, reqID)
	f.mu.Unlock()
	switch {
	case ferr != nil:
		fail(ferr, reqID)
	case aerr != nil:
		fail(aerr, reqID)
	default:
		body, err := xml.Marshal(out)
		if err != nil {
			fail(errorf("InternalError", "marshal: %v", err), reqID)
			return
		}
		answer(http.StatusOK, append([]byte(xml.Header), body...), "")
	}
}

func requestID(n int) string {
	return fmt.Sprintf("7a62c49f-347e-4fc4-9331-%012x", n)
}

func errorBody(e *apiError, reqID string) []byte {
	type xmlError struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type response struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []xmlError `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}
	b, _ := xml.Marshal(response{Errors: []xmlError{{e.Code, e.Message}}, RequestID: reqID})
	return append([]byte(xml.Header), b...)
}

// indexed collects NAME.1, NAME.2, ... in order.
func indexed(p url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[name+"."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// filters collects Filter.N.Name / Filter.N.Value.M.
func filters(p url.Values) map[string][]string {
	out := map[string][]string{}
	for i := 1; ; i++ {
		name := p.Get("Filter." + strconv.Itoa(i) + ".Name")
		if name == "" {
			return out
		}
		out[name] = append(out[name], indexed(p, "Filter."+strconv.Itoa(i)+".Value")...)
	}
}

// --- AssociateAddress -------------------------------------------------

type associateAddressResponse struct {
	XMLName       xml.Name `xml:"AssociateAddressResponse"`
	Xmlns         string   `xml:"xmlns,attr"`
	RequestID     string   `xml:"requestId"`
	Return        bool     `xml:"return"`
	AssociationID string   `xml:"associationId"`
}

// call with f.mu held
func (f *Fake) associateAddress(p url.Values, reqID string) (any, *apiError) {
	a, aerr := f.findAddress(p.Get("AllocationId"), p.Get("PublicIp"))
	if aerr != nil {
		return nil, aerr
	}
	var in *Instance
	switch {
	case p.Get("InstanceId") != "":
		in = f.instances[p.Get("InstanceId")]
		if in == nil {
			return nil, errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", p.Get("InstanceId"))
		}
	case p.Get("NetworkInterfaceId") != "":
		for _, c := range f.instances {
			if c.NetworkInterfaceID == p.Get("NetworkInterfaceId") {
				in = c
			}
		}
		if in == nil {
			return nil, errorf("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", p.Get("NetworkInterfaceId"))
		}
	default:
		return nil, errorf("MissingParameter", "Either instance ID or network interface id must be specified")
	}
	privateIP := primaryIP(in)
	if v := p.Get("PrivateIpAddress"); v != "" {
		if !slices.Contains(in.PrivateIPs, v) {
			return nil, errorf("InvalidParameterValue", "The private IP address %s is not assigned to instance %s", v, in.ID)
		}
		privateIP = v
	}
	sameTarget := a.InstanceID == in.ID && a.PrivateIP == privateIP
	if a.Associated() && !sameTarget && p.Get("AllowReassociation") != "true" {
		return nil, errorf("Resource.AlreadyAssociated", "resource %s is already associated with associate-id %s", a.AllocationID, a.AssociationID)
	}
	f.associate(a, in, privateIP)
	return associateAddressResponse{Xmlns: Namespace, RequestID: reqID, Return: true, AssociationID: a.AssociationID}, nil
}

// findAddress looks an allocation up by id or public address; call with f.mu held.
func (f *Fake) findAddress(allocationID, publicIP string) (*Address, *apiError) {
	switch {
	case allocationID != "":
		if a := f.addresses[allocationID]; a != nil {
			return a, nil
		}
		return nil, errorf("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", allocationID)
	case publicIP != "":
		for _, a := range f.addresses {
			if a.PublicIP == publicIP {
				return a, nil
			}
		}
		return nil, errorf("InvalidAddress.NotFound", "Address '%s' not found.", publicIP)
	}
	return nil, errorf("MissingParameter", "Either public IP or allocation id must be specified")
}

// --- DisassociateAddress ----------------------------------------------

type returnResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

// call with f.mu held
func (f *Fake) disassociateAddress(p url.Values, reqID string) (any, *apiError) {
	id := p.Get("AssociationId")
	switch {
	case id != "":
		for _, a := range f.addresses {
			if a.AssociationID == id {
				disassociate(a)
				return returnResponse{XMLName: xml.Name{Local: "DisassociateAddressResponse"}, Xmlns: Namespace, RequestID: reqID, Return: true}, nil
			}
		}
		return nil, errorf("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
	case p.Get("PublicIp") != "":
		a, aerr := f.findAddress("", p.Get("PublicIp"))
		if aerr != nil {
			return nil, aerr
		}
		disassociate(a)
		return returnResponse{XMLName: xml.Name{Local: "DisassociateAddressResponse"}, Xmlns: Namespace, RequestID: reqID, Return: true}, nil
	}
	return nil, errorf("MissingParameter", "Either public IP or association id must be specified")
}

// --- DescribeAddresses ------------------------------------------------

type xmlAddress struct {
	PublicIP                string `xml:"publicIp"`
	AllocationID            string `xml:"allocationId"`
	Domain                  string `xml:"domain"`
	InstanceID              string `xml:"instanceId,omitempty"`
	AssociationID           string `xml:"associationId,omitempty"`
	NetworkInterfaceID      string `xml:"networkInterfaceId,omitempty"`
	NetworkInterfaceOwnerID string `xml:"networkInterfaceOwnerId,omitempty"`
	PrivateIPAddress        string `xml:"privateIpAddress,omitempty"`
	PublicIPv4Pool          string `xml:"publicIpv4Pool"`
	NetworkBorderGroup      string `xml:"networkBorderGroup"`
}

type describeAddressesResponse struct {
	XMLName   xml.Name     `xml:"DescribeAddressesResponse"`
	Xmlns     string       `xml:"xmlns,attr"`
	RequestID string       `xml:"requestId"`
	Addresses []xmlAddress `xml:"addressesSet>item"`
}

// call with f.mu held
func (f *Fake) describeAddresses(p url.Values, reqID string) (any, *apiError) {
	ids := indexed(p, "AllocationId")
	for _, id := range ids {
		if f.addresses[id] == nil {
			return nil, errorf("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
		}
	}
	ips := indexed(p, "PublicIp")
	flt := filters(p)
	match := func(name, v string) bool {
		want, ok := flt[name]
		return !ok || slices.Contains(want, v)
	}
	resp := describeAddressesResponse{Xmlns: Namespace, RequestID: reqID}
	for _, a := range f.sortedAddresses() {
		if len(ids) > 0 && !slices.Contains(ids, a.AllocationID) || len(ips) > 0 && !slices.Contains(ips, a.PublicIP) {
			continue
		}
		if !match("allocation-id", a.AllocationID) || !match("instance-id", a.InstanceID) ||
			!match("association-id", a.AssociationID) || !match("public-ip", a.PublicIP) {
			continue
		}
		x := xmlAddress{PublicIP: a.PublicIP, AllocationID: a.AllocationID, Domain: "vpc",
			PublicIPv4Pool: "amazon", NetworkBorderGroup: f.region}
		if a.Associated() {
			x.InstanceID, x.AssociationID, x.NetworkInterfaceID = a.InstanceID, a.AssociationID, a.NetworkInterfaceID
			x.NetworkInterfaceOwnerID, x.PrivateIPAddress = DefaultOwnerID, a.PrivateIP
		}
		resp.Addresses = append(resp.Addresses, x)
	}
	return resp, nil
}

// --- DescribeInstances / StopInstances ---------------------------------

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xmlInstance struct {
	InstanceID       string   `xml:"instanceId"`
	State            xmlState `xml:"instanceState"`
	PrivateIPAddress string   `xml:"privateIpAddress,omitempty"`
	IPAddress        string   `xml:"ipAddress,omitempty"`
}

type describeInstancesResponse struct {
	XMLName      xml.Name `xml:"DescribeInstancesResponse"`
	Xmlns        string   `xml:"xmlns,attr"`
	RequestID    string   `xml:"requestId"`
	Reservations []struct {
		ReservationID string        `xml:"reservationId"`
		OwnerID       string        `xml:"ownerId"`
		Instances     []xmlInstance `xml:"instancesSet>item"`
	} `xml:"reservationSet>item"`
}

// instanceIDs checks InstanceId.N; call with f.mu held.
func (f *Fake) instanceIDs(p url.Values) ([]string, *apiError) {
	ids := indexed(p, "InstanceId")
	for _, id := range ids {
		if f.instances[id] == nil {
			return nil, errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	return ids, nil
}

// call with f.mu held
func (f *Fake) describeInstances(p url.Values, reqID string) (any, *apiError) {
	ids, aerr := f.instanceIDs(p)
	if aerr != nil {
		return nil, aerr
	}
	if len(ids) == 0 {
		for id := range f.instances {
			ids = append(ids, id)
		}
		slices.Sort(ids)
	}
	resp := describeInstancesResponse{Xmlns: Namespace, RequestID: reqID}
	for _, id := range ids {
		in := f.instances[id]
		x := xmlInstance{InstanceID: id, State: xmlState{stateCodes[in.State], in.State}, PrivateIPAddress: primaryIP(in)}
		for _, a := range f.sortedAddresses() {
			if a.InstanceID == id && a.PrivateIP == primaryIP(in) {
				x.IPAddress = a.PublicIP
			}
		}
		resp.Reservations = append(resp.Reservations, struct {
			ReservationID string        `xml:"reservationId"`
			OwnerID       string        `xml:"ownerId"`
			Instances     []xmlInstance `xml:"instancesSet>item"`
		}{"r-" + strings.TrimPrefix(id, "i-"), DefaultOwnerID, []xmlInstance{x}})
	}
	return resp, nil
}

type stopInstancesResponse struct {
	XMLName   xml.Name `xml:"StopInstancesResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Instances []struct {
		InstanceID    string   `xml:"instanceId"`
		CurrentState  xmlState `xml:"currentState"`
		PreviousState xmlState `xml:"previousState"`
	} `xml:"instancesSet>item"`
}

// call with f.mu held. A stopped instance keeps its Elastic IP association,
// as in a VPC; the next DescribeInstances shows it stopped.
func (f *Fake) stopInstances(p url.Values, reqID string) (any, *apiError) {
	ids, aerr := f.instanceIDs(p)
	if aerr != nil {
		return nil, aerr
	}
	if len(ids) == 0 {
		return nil, errorf("MissingParameter", "The request must contain the parameter InstanceId")
	}
	resp := stopInstancesResponse{Xmlns: Namespace, RequestID: reqID}
	for _, id := range ids {
		in := f.instances[id]
		prev := in.State
		cur := StateStopping
		if prev == StateStopped {
			cur = StateStopped
		}
		in.State = StateStopped
		resp.Instances = append(resp.Instances, struct {
			InstanceID    string   `xml:"instanceId"`
			CurrentState  xmlState `xml:"currentState"`
			PreviousState xmlState `xml:"previousState"`
		}{id, xmlState{stateCodes[cur], cur}, xmlState{stateCodes[prev], prev}})
	}
	return resp, nil
}
