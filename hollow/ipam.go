package hollow

import (
	"net/netip"

	"go.uber.org/zap"
)

// ipAllocator hands out pod IPs from the first 256 addresses of the node's
// pod CIDR, skipping the network and gateway addresses; a node runs at most
// a few hundred pods.
type ipAllocator struct {
	used [4]uint64
}

func (a *ipAllocator) allocate(cidr netip.Prefix) (netip.Addr, bool) {
	size := 1 << min(8, 32-cidr.Bits())
	for i := 2; i < size-1; i++ {
		if a.used[i/64]&(1<<(i%64)) == 0 {
			a.used[i/64] |= 1 << (i % 64)
			addr := cidr.Masked().Addr()
			for range i {
				addr = addr.Next()
			}
			return addr, true
		}
	}
	return netip.Addr{}, false
}

func (a *ipAllocator) release(cidr netip.Prefix, ip netip.Addr) {
	if !cidr.Contains(ip) {
		return
	}
	base := cidr.Masked().Addr().As4()
	b := ip.As4()
	i := int(b[3]) - int(base[3]) + 256*(int(b[2])-int(base[2]))
	if i >= 0 && i < 256 {
		a.used[i/64] &^= 1 << (i % 64)
	}
}

// setPodCIDR takes the node's pod CIDR once known and starts the pods that
// were waiting for it. Callers hold k.mu.
func (k *Kubelet) setPodCIDR(cidr string) {
	if cidr == "" || k.podCIDR.IsValid() {
		return
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		k.env.log.Warn("ignoring pod CIDR", zap.String("node", k.name), zap.String("cidr", cidr))
		return
	}
	k.podCIDR = p
	waiting := k.waiting
	k.waiting = nil
	for _, pd := range waiting {
		if !pd.gone {
			k.createSandbox(pd)
		}
	}
}
