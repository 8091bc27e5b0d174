package benchpeers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hollowmark/hollowmark/hollow"
)

func TestKWOKNodeIsManagedAndSchedulesLikeAHollowNode(t *testing.T) {
	cfg := hollow.DefaultNodeConfig()
	for _, tc := range []struct {
		index    int
		name     string
		zone     string
		hostname string
	}{
		{0, "kwok-node-0", cfg.Zones[0], "kwok-node-0"},
		{1, "kwok-node-1", cfg.Zones[1], "kwok-node-1"},
		{5, "kwok-node-5", cfg.Zones[5%len(cfg.Zones)], "kwok-node-5"},
	} {
		n := kwokNode(tc.index)
		if n.Name != tc.name || n.Labels["kubernetes.io/hostname"] != tc.hostname {
			t.Errorf("node %d named %q, hostname %q", tc.index, n.Name, n.Labels["kubernetes.io/hostname"])
		}
		if n.Annotations[kwokNodeAnnotation] != "fake" {
			t.Errorf("node %d lacks the annotation KWOK selects by: %v", tc.index, n.Annotations)
		}
		if n.Labels["topology.kubernetes.io/zone"] != tc.zone || n.Labels["topology.kubernetes.io/region"] != cfg.Region ||
			n.Labels["node.kubernetes.io/instance-type"] != cfg.InstanceType {
			t.Errorf("node %d topology labels %v", tc.index, n.Labels)
		}
		if len(n.Spec.Taints) != 0 {
			t.Errorf("node %d is tainted: %v", tc.index, n.Spec.Taints)
		}
		for _, want := range []struct {
			list  corev1.ResourceList
			name  corev1.ResourceName
			value string
		}{
			{n.Status.Capacity, corev1.ResourceCPU, "4"},
			{n.Status.Capacity, corev1.ResourcePods, "110"},
			{n.Status.Capacity, corev1.ResourceMemory, "16Gi"},
			{n.Status.Allocatable, corev1.ResourcePods, "110"},
			{n.Status.Allocatable, corev1.ResourceMemory, "16284Mi"},
			{n.Status.Allocatable, corev1.ResourceEphemeralStorage, "90Gi"},
		} {
			got := want.list[want.name]
			if got.Cmp(resource.MustParse(want.value)) != 0 {
				t.Errorf("node %d %s = %s, want %s", tc.index, want.name, got.String(), want.value)
			}
		}
		if _, ok := n.Status.Allocatable[corev1.ResourceCPU]; !ok {
			t.Errorf("node %d has no allocatable CPU", tc.index)
		}
	}
}
