// Package deploy renders what runs hollow nodes as pods on a base cluster
// against a separate target cluster, as Kubemark does: a Namespace, the
// target's kubeconfig as a Secret, a StatefulSet whose pods each run one
// shard of `hollowmark nodes`, a headless Service for their /metrics and a
// PodDisruptionBudget. `hollowmark manifests` writes them as YAML.
package deploy

import (
	"errors"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Paths inside a shard's pod.
const (
	targetDir      = "/etc/hollowmark/target"
	TargetKey      = "kubeconfig"
	runDir         = "/var/run/hollowmark"
	metricsURLFile = runDir + "/metrics-url"
	// MetricsPort serves /metrics, /readyz and /livez on the pod network.
	MetricsPort = 8080
	// imageUID is the image's non-root user (internal/tools/image).
	imageUID = 65532
)

// Options describe a deployment.
type Options struct {
	Namespace, Name string
	Image           string
	PullPolicy      corev1.PullPolicy
	// Nodes hollow nodes in all, PerShard in each pod (the last may hold
	// fewer).
	Nodes, PerShard int
	// TargetKubeconfig is the Secret's kubeconfig, self-contained.
	TargetKubeconfig []byte
	// HostNetwork runs the shards in the node's network namespace: for a
	// target API server on the base nodes' loopback (one machine). The
	// probes then reach the shard through an exec of `hollowmark health`,
	// as shards on one node cannot share a fixed port.
	HostNetwork bool
	// NodeArgs are more flags of `hollowmark nodes`, e.g. --fidelity=lean.
	NodeArgs []string
	// StopGrace is the pod's termination grace period; the shard gets 10 s
	// less to stop.
	StopGrace int64
	// Resources, if set, replace the requests sized by ShardResources.
	Resources *corev1.ResourceRequirements
}

// Shards is how many pods run the nodes.
func (o Options) Shards() int { return (o.Nodes + o.PerShard - 1) / o.PerShard }

func (o Options) validate() error {
	var errs []error
	if o.Nodes < 1 || o.PerShard < 1 {
		errs = append(errs, fmt.Errorf("--nodes %d, --per-shard %d: both must be at least 1", o.Nodes, o.PerShard))
	}
	for flag, v := range map[string]string{"--namespace": o.Namespace, "--name": o.Name} {
		if msgs := validation.IsDNS1123Label(v); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s %q: %s", flag, v, msgs[0]))
		}
	}
	if o.Image == "" {
		errs = append(errs, errors.New("--image is required"))
	}
	if len(o.TargetKubeconfig) == 0 {
		errs = append(errs, errors.New("the target kubeconfig is empty"))
	}
	if o.StopGrace < 20 {
		errs = append(errs, fmt.Errorf("a grace period of %d s leaves the shard no time to stop (want >= 20)", o.StopGrace))
	}
	return errors.Join(errs...)
}

// Objects are the deployment's objects in the order to apply them.
func Objects(o Options) ([]runtime.Object, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	labels := map[string]string{"app.kubernetes.io/name": "hollowmark", "app.kubernetes.io/component": "hollow-nodes", "app.kubernetes.io/instance": o.Name}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	}
	ns := &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: map[string]string{"app.kubernetes.io/name": "hollowmark"}}}
	secret := &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: meta(o.Name + "-target"),
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{TargetKey: o.TargetKubeconfig}}
	svc := &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: meta(o.Name), Spec: corev1.ServiceSpec{
		ClusterIP: corev1.ClusterIPNone, Selector: labels, PublishNotReadyAddresses: true}}
	if !o.HostNetwork {
		svc.Spec.Ports = []corev1.ServicePort{{Name: "metrics", Port: MetricsPort, TargetPort: intstr.FromString("metrics")}}
	}
	pdb := &policyv1.PodDisruptionBudget{TypeMeta: typeMeta("policy/v1", "PodDisruptionBudget"), ObjectMeta: meta(o.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	sts := &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", "StatefulSet"), ObjectMeta: meta(o.Name), Spec: appsv1.StatefulSetSpec{
		Replicas: ptr.To(int32(o.Shards())), ServiceName: o.Name,
		// Shards are independent: they start and restart together.
		PodManagementPolicy: appsv1.ParallelPodManagement,
		Selector:            &metav1.LabelSelector{MatchLabels: labels},
		Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: o.podSpec(secret.Name)},
	}}
	return []runtime.Object{ns, secret, svc, sts, pdb}, nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func (o Options) podSpec(secret string) corev1.PodSpec {
	res := ShardResources(o.PerShard)
	if o.Resources != nil {
		res = *o.Resources
	}
	c := corev1.Container{
		Name: "hollow-nodes", Image: o.Image, ImagePullPolicy: o.PullPolicy,
		Args: o.args(),
		Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			// The Go runtime collects harder near the limit instead of
			// being OOM-killed past it.
			{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
		},
		Resources: res,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "target", MountPath: targetDir, ReadOnly: true},
			{Name: "run", MountPath: runDir},
		},
		ReadinessProbe: o.probe("/readyz", 10, 3),
		LivenessProbe:  o.probe("/livez", 20, 3),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	if !o.HostNetwork {
		c.Ports = []corev1.ContainerPort{{Name: "metrics", ContainerPort: MetricsPort}}
	}
	spec := corev1.PodSpec{
		Containers: []corev1.Container{c},
		// The shards talk to the target cluster only.
		AutomountServiceAccountToken:  ptr.To(false),
		TerminationGracePeriodSeconds: ptr.To(o.StopGrace),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(imageUID)), RunAsGroup: ptr.To(int64(imageUID)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Volumes: []corev1.Volume{
			{Name: "target", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}},
			{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	if o.HostNetwork {
		spec.HostNetwork, spec.DNSPolicy = true, corev1.DNSClusterFirstWithHostNet
	}
	return spec
}

// args are the shard's `hollowmark nodes` flags. Its Nodes stay when it
// stops, so that the pod the StatefulSet starts in its place adopts them.
func (o Options) args() []string {
	addr := "0.0.0.0:" + strconv.Itoa(MetricsPort)
	if o.HostNetwork {
		addr = "127.0.0.1:0"
	}
	args := []string{"nodes",
		"--kubeconfig=" + targetDir + "/" + TargetKey,
		"--count=" + strconv.Itoa(o.Nodes), "--shards=" + strconv.Itoa(o.Shards()), "--shard=ordinal",
		"--delete-nodes=false", "--run-dir=" + runDir, "--metrics-addr=" + addr,
		"--stop-timeout=" + strconv.FormatInt(o.StopGrace-10, 10) + "s",
	}
	if o.HostNetwork {
		args = append(args, "--metrics-url-file="+metricsURLFile)
	}
	return append(args, o.NodeArgs...)
}

func (o Options) probe(path string, period, failures int32) *corev1.Probe {
	p := &corev1.Probe{PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 5}
	if o.HostNetwork {
		p.Exec = &corev1.ExecAction{Command: []string{"/hollowmark", "health", "--url-file=" + metricsURLFile, path}}
	} else {
		p.HTTPGet = &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("metrics")}
	}
	return p
}

// Per-node costs from `make bench` (docs/fidelity.md, "What full fidelity
// costs"): 121.8 KB of RSS per full-fidelity node with its own proxy
// connection, 0.09 mcores per idle node. Requests round those up and add
// the process's own base; pods on the nodes cost more, so memory may grow
// to twice the request. No CPU limit: throttling would delay heartbeats
// and status updates, which is what the target cluster measures.
const (
	memoryBase    = 64 << 20
	memoryPerNode = 128 << 10
	milliCPUBase  = 50
	milliCPUPer1k = 100
)

// ShardResources sizes a shard of n nodes.
func ShardResources(n int) corev1.ResourceRequirements {
	mem := int64(memoryBase + n*memoryPerNode)
	mib := func(b int64) resource.Quantity {
		return *resource.NewQuantity((b+(1<<20)-1)>>20<<20, resource.BinarySI)
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(milliCPUBase+(n*milliCPUPer1k+999)/1000), resource.DecimalSI),
			corev1.ResourceMemory: mib(mem),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: mib(2 * mem)},
	}
}

// YAML writes objects as one multi-document YAML stream, without the
// empty status and null timestamps typed objects carry.
func YAML(objects []runtime.Object) ([]byte, error) {
	var out []byte
	for _, obj := range objects {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", obj, err)
		}
		delete(u, "status")
		unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u, "spec", "template", "metadata", "creationTimestamp")
		b, err := yaml.Marshal(u)
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", obj, err)
		}
		out = append(append(out, "---\n"...), b...)
	}
	return out, nil
}
