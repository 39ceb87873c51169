package mdns

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAnswers(t *testing.T) {
	var got []string
	a := &answers{appID: "orders", srv: map[string]*dns.SRV{}, txt: map[string][]string{}, ips: map[string]net.IP{}, done: map[string]bool{},
		found: func(addr string) { got = append(got, addr) }}
	// Records split across packets, names in any case; another app's and
	// a wrong TXT are ignored.
	a.add(&dns.Msg{Answer: []dns.RR{rr(t, `h:1.orders.local. 120 IN SRV 0 0 4001 h.local.`)}})
	a.add(&dns.Msg{Answer: []dns.RR{rr(t, `h:2.orders.local. 120 IN SRV 0 0 4002 h2.local.`), rr(t, `h:2.orders.local. 120 IN TXT "orders" "other"`),
		rr(t, `h:3.billing.local. 120 IN SRV 0 0 4003 h.local.`), rr(t, `h:3.billing.local. 120 IN TXT "orders"`)}})
	if len(got) != 0 {
		t.Fatalf("early: %v", got)
	}
	a.add(&dns.Msg{Extra: []dns.RR{rr(t, `H:1.Orders.local. 120 IN TXT "orders"`), rr(t, `h.local. 120 IN A 127.0.0.1`), rr(t, `h2.local. 120 IN A 127.0.0.2`)}})
	if len(got) != 1 || got[0] != "127.0.0.1:4001" {
		t.Fatalf("got %v", got)
	}
	// Seen once only.
	a.add(&dns.Msg{Answer: []dns.RR{rr(t, `h.local. 120 IN A 127.0.0.1`)}})
	if len(got) != 1 {
		t.Fatalf("again: %v", got)
	}
}

// FuzzAnswers: any packet from the network is handled without a panic,
// and an address is reported only for the app asked about.
func FuzzAnswers(f *testing.F) {
	m := new(dns.Msg)
	m.Response = true
	m.Answer = []dns.RR{rr(f, `h:1.orders.local. 120 IN SRV 0 0 4001 h.local.`), rr(f, `h:1.orders.local. 120 IN TXT "orders"`), rr(f, `h.local. 120 IN A 127.0.0.1`)}
	b, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, packet []byte) {
		var m dns.Msg
		if m.Unpack(packet) != nil {
			return
		}
		a := &answers{appID: "orders", srv: map[string]*dns.SRV{}, txt: map[string][]string{}, ips: map[string]net.IP{}, done: map[string]bool{},
			found: func(addr string) {
				if _, _, err := net.SplitHostPort(addr); err != nil {
					t.Fatalf("bad address %q", addr)
				}
			}}
		a.add(&m)
	})
}
