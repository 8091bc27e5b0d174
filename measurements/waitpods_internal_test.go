package measurements

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestUnsettledControllers(t *testing.T) {
	three := int32(3)
	meta := metav1.ObjectMeta{Generation: 2}
	tests := []struct {
		name string
		obj  any
		want string // substring of the reason; "" for settled
	}{
		{"deployment not observed", &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 3}}, "not observed generation 2"},
		{"deployment mid-rollout", &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1}}, "updated 1 of 3"},
		{"deployment done", &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 3}}, ""},
		{"statefulset rolling", &appsv1.StatefulSet{ObjectMeta: meta, Status: appsv1.StatefulSetStatus{ObservedGeneration: 2,
			CurrentRevision: "a", UpdateRevision: "b"}}, "rolling out revision b"},
		{"daemonset updating", &appsv1.DaemonSet{ObjectMeta: meta, Status: appsv1.DaemonSetStatus{ObservedGeneration: 2,
			DesiredNumberScheduled: 5, UpdatedNumberScheduled: 4}}, "updated 4 of 5"},
		{"replicaset not observed", &appsv1.ReplicaSet{ObjectMeta: meta, Status: appsv1.ReplicaSetStatus{ObservedGeneration: 1}}, "not observed"},
		{"job", &batchv1.Job{ObjectMeta: meta}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unsettled(tt.obj)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("unsettled = %q, want %q", got, tt.want)
			}
		})
	}
}
