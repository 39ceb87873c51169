package mdns

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The browse side is our own small mDNS client on miekg/dns (hashicorp's
// client keeps writing an entry after handing it over, a data race): one
// PTR question for "<app id>.local.", with the unicast-response bit (both
// daprd's zeroconf and hashicorp's server answer it to our socket), sent
// again while no answer came; answers are also read from the multicast
// group, where responders that ignore the bit answer.

var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

const resend = 300 * time.Millisecond

// query asks for appID until ctx ends, calling found (from one goroutine
// at a time) with each address whose records are complete.
func query(ctx context.Context, appID string, found func(addr string)) error {
	uconn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		return err
	}
	defer uconn.Close()
	mconn, _ := net.ListenMulticastUDP("udp4", nil, mdnsGroup) // optional: unicast answers suffice
	if mconn != nil {
		defer mconn.Close()
	}
	q := new(dns.Msg)
	q.SetQuestion(appID+"."+domain, dns.TypePTR)
	q.RecursionDesired = false
	q.Question[0].Qclass |= 1 << 15 // QU: answer us directly
	packet, err := q.Pack()
	if err != nil {
		return err
	}

	st := &answers{appID: appID, srv: map[string]*dns.SRV{}, txt: map[string][]string{}, ips: map[string]net.IP{}, done: map[string]bool{}, found: found}
	var wg sync.WaitGroup
	read := func(c *net.UDPConn) {
		defer wg.Done()
		buf := make([]byte, 9000)
		for {
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := c.ReadFromUDP(buf)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue
				}
				return
			}
			var m dns.Msg
			if m.Unpack(buf[:n]) == nil && m.Response {
				st.add(&m)
			}
		}
	}
	wg.Add(1)
	go read(uconn)
	if mconn != nil {
		wg.Add(1)
		go read(mconn)
	}
	t := time.NewTicker(resend)
	defer t.Stop()
	for {
		if _, err := uconn.WriteToUDP(packet, mdnsGroup); err != nil {
			// No route for multicast: nothing will answer.
			wg.Wait()
			return err
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// answers gathers records across packets until an instance of the app is
// complete: its SRV (port, host), TXT and the host's address.
type answers struct {
	mu    sync.Mutex
	appID string
	srv   map[string]*dns.SRV
	txt   map[string][]string
	ips   map[string]net.IP
	done  map[string]bool
	found func(string)
}

func (a *answers) add(m *dns.Msg) {
	a.mu.Lock()
	defer a.mu.Unlock()
	suffix := "." + strings.ToLower(a.appID) + "." + domain
	for _, rrs := range [][]dns.RR{m.Answer, m.Extra} {
		for _, rr := range rrs {
			name := strings.ToLower(rr.Header().Name)
			switch r := rr.(type) {
			case *dns.SRV:
				if strings.HasSuffix(name, suffix) {
					a.srv[name] = r
				}
			case *dns.TXT:
				if strings.HasSuffix(name, suffix) {
					a.txt[name] = r.Txt
				}
			case *dns.A:
				a.ips[name] = r.A
			case *dns.AAAA:
				if a.ips[name] == nil {
					a.ips[name] = r.AAAA
				}
			}
		}
	}
	for inst, s := range a.srv {
		if a.done[inst] || !matchTXT(a.appID, a.txt[inst]) {
			continue
		}
		ip := a.ips[strings.ToLower(s.Target)]
		if ip == nil || s.Port == 0 {
			continue
		}
		a.done[inst] = true
		a.found(net.JoinHostPort(ip.String(), strconv.Itoa(int(s.Port))))
	}
}

// matchTXT is daprd's check: every TXT string is the app id.
func matchTXT(appID string, txt []string) bool {
	if len(txt) == 0 {
		return false
	}
	for _, t := range txt {
		if t != appID {
			return false
		}
	}
	return true
}
