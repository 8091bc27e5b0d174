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
	if i := ipIndex(cidr, ip); cidr.Contains(ip) && i < 256 {
		a.used[i/64] &^= 1 << (i % 64)
	}
}

// mark records ip as taken, for pods adopted with their addresses.
func (a *ipAllocator) mark(cidr netip.Prefix, ip netip.Addr) bool {
	i := ipIndex(cidr, ip)
	if !cidr.Contains(ip) || i >= 256 {
		return false
	}
	a.used[i/64] |= 1 << (i % 64)
	return true
}

// ipIndex is ip's offset in cidr.
func ipIndex(cidr netip.Prefix, ip netip.Addr) int {
	base, b := cidr.Masked().Addr().As4(), ip.As4()
	return (int(b[2])-int(base[2]))*256 + int(b[3]) - int(base[3])
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
