// Package realnode runs a real kubelet v1.36.3 (bin/kubelet, built from the
// pinned module) with containerd and runc from Debian, in a mount namespace
// of its own, joined to an embedded control plane: the real-kubelet
// reference (make reference) measures one, and the scale-out test (make
// test-scaleout) runs hollow-node shards as pods on one. It needs root.
// Everything it creates is under its work directory but the kubepods
// cgroups and its bridge, which Stop removes.
package realnode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/ociimage"
)

// Network is a real node's network: a bridge of its own with a private
// /24. The bridge holds the node's IP (the kubelet refuses a loopback one),
// pods get the rest from host-local; no gateway, no masquerade, no route
// out. Nodes that may run at once (the reference and the scale-out test)
// need networks of their own.
type Network struct {
	Bridge string
	// Addr is the node's IP on the bridge, with the prefix length.
	Addr       string
	Subnet     string
	RangeStart string
}

// The networks of the reference and of the scale-out test.
var (
	ReferenceNetwork = Network{Bridge: "hmref0", Addr: "10.203.7.1/24", Subnet: "10.203.7.0/24", RangeStart: "10.203.7.10"}
	ScaleOutNetwork  = Network{Bridge: "hmscale0", Addr: "10.203.8.1/24", Subnet: "10.203.8.0/24", RangeStart: "10.203.8.10"}
)

// PauseImage is containerd's sandbox image; PodImage is what the request-mix
// workload's pods run (hollow/requestmix_test.go). Both are the locally
// built pause program (reference/pause).
const (
	PauseImage = "registry.k8s.io/pause:3.10.1"
	PodImage   = "registry.k8s.io/pause:3.10"
)

// kernelTunables are the sysctls the kubelet's container manager sets at
// start (setupKernelTunables); this kind of sandbox refuses the writes, so
// inside the node's mount namespace ordinary files holding these values are
// bind-mounted over them and the kubelet finds nothing to change.
var kernelTunables = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// nsDirs are host directories the node's mount namespace covers with
// directories of the work dir, so that paths containerd, the CNI library
// and the kubelet hard-code (/run/netns, /var/lib/cni, /var/log/containers,
// /run/containerd/…) land in the work dir and never on the host.
var nsDirs = []string{"/run", "/var/lib", "/var/log"}

// Node is a real kubelet v1.36.3 with containerd and runc, in a mount
// namespace of its own, joined to the control plane.
type Node struct {
	Name, Work, BinDir string
	Net                Network
	Logf               func(format string, args ...any)

	holder, containerd, kubelet *Process
	bridge                      bool
}

// Path is a path in the node's work directory.
func (n *Node) Path(parts ...string) string {
	return filepath.Join(append([]string{n.Work}, parts...)...)
}

// CheckHost says what is missing for a real node on net on this machine.
func CheckHost(binDir string, net Network) error {
	if os.Geteuid() != 0 {
		return errors.New("the real kubelet needs root (mounts, cgroups, a bridge)")
	}
	var missing []string
	for _, tool := range []string{"containerd", "ctr", "runc", "unshare", "nsenter", "mount", "umount", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", filepath.Join(binDir, "kubelet"), filepath.Join(binDir, "pause")} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (`make reference` installs containerd, runc and containernetworking-plugins, and builds bin/kubelet and bin/pause)", strings.Join(missing, ", "))
	}
	if matches, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods"); len(matches) > 0 {
		return fmt.Errorf("%s exists: another kubelet runs on this machine (make reference or make test-scaleout), or an earlier run was killed before its clean-up (remove the empty cgroup directories, deepest first)", strings.Join(matches, ", "))
	}
	if _, err := stdnet.InterfaceByName(net.Bridge); err == nil {
		return fmt.Errorf("network interface %s exists: an earlier run was killed before its clean-up (ip link del %s)", net.Bridge, net.Bridge)
	}
	return nil
}

// Start brings the node up: the mount namespace, the bridge and CNI
// configuration, containerd with the pause image, then the kubelet with a
// node client certificate of the control plane's CA. It returns once the
// kubelet runs; the caller waits for the Node to be Ready. On error the
// caller still calls stop.
func (n *Node) Start(ctx context.Context, cp *controlplane.ControlPlane) error {
	for _, d := range []string{"logs", "sysctl", "ns/run", "ns/var/lib", "ns/var/log", "containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs", "image"} {
		if err := os.MkdirAll(n.Path(d), 0o700); err != nil {
			return fmt.Errorf("creating work directory: %w", err)
		}
	}
	if err := n.startHolder(ctx); err != nil {
		return err
	}
	if err := n.createBridge(ctx); err != nil {
		return err
	}
	if err := os.WriteFile(n.Path("cni/net.d/10-hollowmark.conflist"), []byte(cniConfig(n.Net, n.Path("cni/ipam"))), 0o600); err != nil {
		return fmt.Errorf("writing CNI configuration: %w", err)
	}
	if err := n.startContainerd(ctx); err != nil {
		return err
	}
	if err := n.importPause(ctx); err != nil {
		return err
	}
	return n.startKubelet(ctx, cp)
}

// startHolder starts the process that holds the node's mount namespace:
// unshare with private propagation, the bind mounts, then sleep. containerd
// and the kubelet enter the namespace with nsenter; every mount they make
// (overlay rootfs, tmpfs volumes, netns files) stays in it.
func (n *Node) startHolder(ctx context.Context) error {
	var script strings.Builder
	script.WriteString("set -e\n")
	keys := make([]string, 0, len(kernelTunables))
	for k := range kernelTunables {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		file := n.Path("sysctl", strings.ReplaceAll(k, "/", "."))
		if err := os.WriteFile(file, []byte(kernelTunables[k]+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", file, err)
		}
		fmt.Fprintf(&script, "mount --bind %s /proc/sys/%s\n", shellQuote(file), k)
	}
	for _, d := range nsDirs {
		fmt.Fprintf(&script, "mount --bind %s %s\n", shellQuote(n.Path("ns", d)), d)
	}
	script.WriteString("echo ready\nexec sleep infinity\n")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A pipe of our own, not StdoutPipe: the reaper's Wait must not close
	// it before "ready" is read.
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("mount namespace: %w", err)
	}
	defer r.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	p, err := StartProcess("mount namespace holder", cmd, "")
	w.Close()
	if err != nil {
		return err
	}
	n.holder = p
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		<-p.done
		return fmt.Errorf("setting up the node's mount namespace (unshare -m, bind mounts over /proc/sys and %s): %s", strings.Join(nsDirs, ", "), strings.TrimSpace(stderr.String()))
	}
	n.Logf("mount namespace held by pid %d", p.PID())
	return nil
}

func (n *Node) createBridge(ctx context.Context) error {
	for _, args := range [][]string{
		{"link", "add", n.Net.Bridge, "type", "bridge"},
		{"addr", "add", n.Net.Addr, "dev", n.Net.Bridge},
		{"link", "set", n.Net.Bridge, "up"},
	} {
		if err := Run(ctx, "ip", args...); err != nil {
			return err
		}
		n.bridge = true
	}
	return nil
}

func cniConfig(net Network, ipamDir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "hollowmark-%s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "rangeStart": %q}]]
      }
    },
    {"type": "loopback"}
  ]
}
`, net.Bridge, net.Bridge, ipamDir, net.Subnet, net.RangeStart)
}

// containerdConfig moves everything containerd keeps under the work dir.
// restrict_oom_score_adj: without CAP_SYS_RESOURCE runc cannot lower a
// sandbox's oom_score_adj ("can't get final child's PID from pipe: EOF").
// cgroupfs, not systemd; runc, not crun (crun refuses hybrid cgroups).
func (n *Node) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %q

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
    max_conf_num = 1
`, n.Path("containerd/root"), n.Path("containerd/state"), n.socket(), n.Path("containerd/ttrpc.sock"),
		n.Path("containerd/opt"), PauseImage, n.Path("containerd/runc"), n.Path("cni/net.d"))
}

func (n *Node) socket() string { return n.Path("containerd/containerd.sock") }

// inNamespace runs a command inside the node's mount namespace.
func (n *Node) inNamespace(name string, args ...string) *exec.Cmd {
	full := append([]string{"-t", strconv.Itoa(n.holder.PID()), "-m", "--", name}, args...)
	cmd := exec.Command("nsenter", full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func (n *Node) startContainerd(ctx context.Context) error {
	cfg := n.Path("containerd/config.toml")
	if err := os.WriteFile(cfg, []byte(n.containerdConfig()), 0o600); err != nil {
		return fmt.Errorf("writing containerd configuration: %w", err)
	}
	p, err := StartProcess("containerd", n.inNamespace("containerd", "--config", cfg), n.Path("logs/containerd.log"))
	if err != nil {
		return err
	}
	n.containerd = p
	n.Logf("containerd started (pid %d)", p.PID())
	return WaitUntil(ctx, 30*time.Second, "containerd to serve", func() error {
		if err := n.Exited(); err != nil {
			return err
		}
		return Run(ctx, "ctr", "--address", n.socket(), "version")
	})
}

func (n *Node) ctr(ctx context.Context, args ...string) error {
	return Run(ctx, "ctr", append([]string{"--address", n.socket(), "--namespace", "k8s.io"}, args...)...)
}

func (n *Node) importPause(ctx context.Context) error {
	exe, err := ociimage.StaticBinary(filepath.Join(n.BinDir, "pause"), "pause")
	if err != nil {
		return err
	}
	img, err := ociimage.Build(ociimage.Spec{Files: []ociimage.File{exe}, Entrypoint: []string{"/pause"}}, runtime.GOARCH)
	if err != nil {
		return fmt.Errorf("the pause image: %w", err)
	}
	archive := n.Path("image/pause.tar")
	if err := ociimage.WriteArchive(archive, img, []string{PauseImage, PodImage}); err != nil {
		return err
	}
	return n.ImportImage(ctx, archive)
}

// ImportImage imports an image archive (OCI or docker-save) into the
// containerd namespace the kubelet's runtime uses, under the names it
// carries: pods run them with imagePullPolicy IfNotPresent or Never.
func (n *Node) ImportImage(ctx context.Context, archive string) error {
	if err := n.ctr(ctx, "images", "import", archive); err != nil {
		return fmt.Errorf("importing %s: %w", archive, err)
	}
	return nil
}

func (n *Node) startKubelet(ctx context.Context, cp *controlplane.ControlPlane) error {
	pair, err := cp.Authority.IssueClient("system:node:"+n.Name, "system:nodes")
	if err != nil {
		return fmt.Errorf("node client certificate: %w", err)
	}
	kubeconfig := n.Path("kubelet.kubeconfig")
	if err := controlplane.WriteKubeconfig(kubeconfig, cp.Config.Host, cp.Authority.CertPEM, "system:node:"+n.Name, pair); err != nil {
		return err
	}
	caFile := n.Path("ca.crt")
	if err := os.WriteFile(caFile, cp.Authority.CertPEM, 0o644); err != nil {
		return fmt.Errorf("writing the cluster CA for the kubelet: %w", err)
	}
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return err
	}
	config, err := kubeletConfig(kubeletSettings{
		socket: n.socket(), clientCA: caFile, podLogs: n.Path("pod-logs"), port: ports[0], healthzPort: ports[1],
	})
	if err != nil {
		return err
	}
	configPath := n.Path("kubelet-config.yaml")
	if err := os.WriteFile(configPath, config, 0o600); err != nil {
		return fmt.Errorf("writing kubelet configuration: %w", err)
	}
	nodeIP, _, _ := stdnet.ParseCIDR(n.Net.Addr)
	cmd := n.inNamespace(filepath.Join(n.BinDir, "kubelet"),
		"--config", configPath,
		"--kubeconfig", kubeconfig,
		"--root-dir", n.Path("kubelet"),
		"--hostname-override", n.Name,
		"--node-ip", nodeIP.String(),
		"--v", "2",
	)
	p, err := StartProcess("kubelet", cmd, n.Path("logs/kubelet.log"))
	if err != nil {
		return err
	}
	n.kubelet = p
	n.Logf("kubelet started (pid %d, node %s, log %s)", p.PID(), n.Name, n.Path("logs/kubelet.log"))
	return nil
}

// Exited reports whether the kubelet or containerd has died, and the end
// of its log.
func (n *Node) Exited() error {
	for _, p := range []*Process{n.kubelet, n.containerd} {
		if p == nil {
			continue
		}
		if ended, err := p.Exited(); ended {
			return fmt.Errorf("%s exited (%v); its log ends:\n%s", p.name, err, Tail(n.Path("logs", p.name+".log"), 15))
		}
	}
	return nil
}

// Stop tears the node down in order: the kubelet, the containers' tasks
// (killed) and containers, containerd, any process left in the namespace
// (by PID), the mounts in the namespace deepest first, the namespace's
// holder, the kubepods cgroups deepest first, the bridge. It goes on past
// failures and returns them all.
func (n *Node) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
			n.Logf("clean-up: %v", err)
		}
	}
	note(n.kubelet.Stop(20 * time.Second))
	if n.containerd != nil {
		if ended, _ := n.containerd.Exited(); !ended {
			note(n.removeContainers(ctx))
		}
	}
	note(n.containerd.Stop(20 * time.Second))
	if n.holder != nil {
		if ended, _ := n.holder.Exited(); !ended {
			note(n.killNamespaceProcesses())
			note(n.unmountNamespace(ctx))
			note(n.holder.Stop(5 * time.Second))
		}
	}
	note(unmountUnder("/proc/self/mountinfo", n.Work, func(p string) error { return Run(ctx, "umount", p) }))
	note(removeCgroups("/sys/fs/cgroup/*/kubepods"))
	if n.bridge {
		note(Run(ctx, "ip", "link", "del", n.Net.Bridge))
	}
	return errors.Join(errs...)
}

// removeContainers kills every task in containerd's k8s.io namespace, then
// deletes the tasks and containers.
func (n *Node) removeContainers(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "ctr", "--address", n.socket(), "--namespace", "k8s.io", "containers", "list", "--quiet").Output()
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	ids := strings.Fields(string(out))
	var errs []error
	for _, id := range ids {
		n.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id) // no task is fine
	}
	for _, id := range ids {
		if err := WaitUntil(ctx, 15*time.Second, "task "+id+" to end", func() error {
			err := n.ctr(ctx, "tasks", "delete", "--force", id)
			if err != nil && strings.Contains(err.Error(), "not found") {
				return nil // the container has no task
			}
			return err
		}); err != nil {
			errs = append(errs, err)
		}
		if err := n.ctr(ctx, "containers", "delete", id); err != nil {
			errs = append(errs, err)
		}
	}
	if len(ids) > 0 {
		n.Logf("removed %d containers", len(ids))
	}
	return errors.Join(errs...)
}

// killNamespaceProcesses kills, by PID, the processes left in the node's
// mount namespace (shims, containers) other than its holder.
func (n *Node) killNamespaceProcesses() error {
	holder := n.holder.PID()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", holder))
	if err != nil {
		return fmt.Errorf("reading the node's mount namespace: %w", err)
	}
	for range 3 {
		pids := ProcessesIn(ns, holder)
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if pids := ProcessesIn(ns, holder); len(pids) > 0 {
		return fmt.Errorf("processes %v survive SIGKILL in the node's mount namespace", pids)
	}
	return nil
}

// ProcessesIn lists the processes whose mount namespace is ns, but skip.
func ProcessesIn(ns string, skip int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == skip {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountNamespace unmounts, inside the node's namespace and deepest first,
// every mount under the work dir, the covered directories and /proc/sys.
func (n *Node) unmountNamespace(ctx context.Context) error {
	mountinfo := fmt.Sprintf("/proc/%d/mountinfo", n.holder.PID())
	umount := func(p string) error {
		cmd := n.inNamespace("umount", p)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("umount %s in the node's namespace: %v: %s", p, err, bytes.TrimSpace(out))
		}
		return nil
	}
	var errs []error
	for _, root := range append([]string{n.Work, "/proc/sys"}, nsDirs...) {
		errs = append(errs, unmountUnder(mountinfo, root, umount))
	}
	return errors.Join(errs...)
}

// unmountUnder unmounts the mount points in a mountinfo file at or below
// root, deepest (and latest) first.
func unmountUnder(mountinfo, root string, umount func(string) error) error {
	data, err := os.ReadFile(mountinfo)
	if err != nil {
		return fmt.Errorf("reading %s: %w", mountinfo, err)
	}
	points := MountPointsUnder(string(data), root)
	var errs []error
	for _, p := range points {
		errs = append(errs, umount(p))
	}
	return errors.Join(errs...)
}

// MountPointsUnder parses mountinfo and returns the mount points at or
// below root in unmounting order: deepest first, later mounts before
// earlier ones at the same depth (a mount stacked on another comes off
// first).
func MountPointsUnder(mountinfo, root string) []string {
	type point struct {
		path  string
		order int
	}
	var points []point
	for i, line := range strings.Split(mountinfo, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/") {
			points = append(points, point{p, i})
		}
	}
	slices.SortStableFunc(points, func(a, b point) int {
		if da, db := strings.Count(a.path, "/"), strings.Count(b.path, "/"); da != db {
			return db - da
		}
		return b.order - a.order
	})
	out := make([]string, len(points))
	for i, p := range points {
		out[i] = p.path
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroups removes the cgroup directories matching pattern and all
// below them, deepest first (rmdir: a cgroup with tasks stays, and says so).
func removeCgroups(pattern string) error {
	roots, err := filepath.Glob(pattern)
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}
