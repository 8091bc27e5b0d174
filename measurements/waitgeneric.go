package measurements

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// WaitForGenericK8sObjectsName names the barrier.
const WaitForGenericK8sObjectsName = "WaitForGenericK8sObjects"

// defaultGenericTimeout is ClusterLoader2's default for the same wait.
const defaultGenericTimeout = 30 * time.Minute

func waitForGenericK8sObjectsMethod() Method {
	group := StringParam("objectGroup", "", "the resource's API group (\"\" for the core group)")
	version := StringParam("objectVersion", "", "the resource's API version, e.g. v1").Require()
	resource := StringParam("objectResource", "", "the resource, plural, e.g. persistentvolumeclaims").Require()
	selector := SelectorParam("labelSelector", "the objects counted")
	scope := EnumParam("scope", ScopeRun, []string{ScopeRun, ScopeAll, ScopeCluster},
		"objects in the run's namespaces, in every namespace, or cluster-scoped ones (ClusterLoader2's default when it names no namespaceRange)")
	successful := StringsParam("successfulConditions", checkCondition, "conditions, Type=Status, that make an object successful, e.g. [Ready=True]")
	failed := StringsParam("failedConditions", checkCondition, "conditions, Type=Status, that make an object failed")
	minCount := IntParam("minDesiredObjectCount", 0, "how many objects must be successful or failed (or exist, when no conditions are given)").Require()
	maxFailed := IntParam("maxFailedObjectCount", 0, "how many failed objects are tolerated once enough are decided")
	timeout := DurationParam("timeout", defaultGenericTimeout, "how long to wait (ClusterLoader2's default)")
	return Method{
		Name: WaitForGenericK8sObjectsName,
		Doc: "as ClusterLoader2: until at least `minDesiredObjectCount` objects of the resource have one of the successful or " +
			"failed conditions in `status.conditions` (without conditions: until that many exist); it fails at once when more " +
			"than `maxFailedObjectCount` have failed by then, and on timeout with the counts",
		Params: []ParamSpec{group, version, resource, selector, scope, successful, failed, minCount, maxFailed, timeout},
		Wait: func(p Params, d Deps) (Barrier, error) {
			if d.Dynamic == nil {
				return nil, fmt.Errorf("%s needs a dynamic client", WaitForGenericK8sObjectsName)
			}
			progress := progressLog(d.log(), "objects")
			w := &WaitForGenericK8sObjects{Client: d.Dynamic,
				Resource:      schema.GroupVersionResource{Group: group.Get(p), Version: version.Get(p), Resource: resource.Get(p)},
				LabelSelector: selector.Get(p), Successful: successful.Get(p), Failed: failed.Get(p),
				MinDesired: minCount.Get(p), MaxFailed: maxFailed.Get(p), Timeout: timeout.Get(p),
				Progress: func(c ObjectConditions) {
					progress(zap.Int("successful", len(c.Successful)), zap.Int("failed", len(c.Failed)), zap.Int("exist", c.Count))
				}}
			switch scope.Get(p) {
			case ScopeRun:
				w.Namespaces = d.Namespaces
			case ScopeCluster:
				w.Namespaces = []string{""}
			}
			return noFindings(w.Wait), nil
		},
	}
}

func checkCondition(s string) error {
	if t, status, ok := strings.Cut(s, "="); !ok || t == "" || status == "" {
		return fmt.Errorf("%q: want Type=Status, e.g. Ready=True", s)
	}
	return nil
}

// WaitForGenericK8sObjects waits, as ClusterLoader2's barrier of that name,
// until enough objects of any resource carry a successful or failed
// condition.
type WaitForGenericK8sObjects struct {
	Client        dynamic.Interface
	Resource      schema.GroupVersionResource
	LabelSelector string
	// Namespaces limits the wait to objects in them ("" for cluster-scoped
	// objects); nil means every namespace.
	Namespaces []string
	// Successful and Failed are conditions as Type=Status.
	Successful, Failed []string
	MinDesired         int
	MaxFailed          int
	Timeout            time.Duration
	// Progress, if set, hears the counts about every second.
	Progress func(ObjectConditions)
}

// ObjectConditions is where the wait stands: the objects, and the names of
// those with a successful or a failed condition.
type ObjectConditions struct {
	Count              int
	Successful, Failed []string
}

// CountConditions sorts objects by the first of their conditions that is
// listed as successful or failed, as ClusterLoader2 does (it takes the two
// lists to exclude each other).
func CountConditions(objects []*unstructured.Unstructured, successful, failed []string) ObjectConditions {
	c := ObjectConditions{Count: len(objects)}
	for _, obj := range objects {
		list, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, cond := range list {
			m, _ := cond.(map[string]any)
			t, _ := m["type"].(string)
			status, _ := m["status"].(string)
			key := t + "=" + status
			if slices.Contains(successful, key) {
				c.Successful = append(c.Successful, objectName(obj))
				break
			}
			if slices.Contains(failed, key) {
				c.Failed = append(c.Failed, objectName(obj))
				break
			}
		}
	}
	return c
}

func objectName(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// decide is ClusterLoader2's rule: without conditions, done when enough
// objects exist; with them, done when enough are decided, and failed when
// too many of those failed.
func (w *WaitForGenericK8sObjects) decide(c ObjectConditions) (bool, error) {
	if len(w.Successful) == 0 && len(w.Failed) == 0 {
		return c.Count >= w.MinDesired, nil
	}
	if len(c.Successful)+len(c.Failed) < w.MinDesired {
		return false, nil
	}
	if len(c.Failed) > w.MaxFailed {
		return true, fmt.Errorf("%s: %d objects failed, at most %d may: %s", w.Resource, len(c.Failed), w.MaxFailed, firstOf(c.Failed, 10))
	}
	return true, nil
}

// Wait returns nil once enough objects are decided, or an error when too
// many failed or Timeout passes.
func (w *WaitForGenericK8sObjects) Wait(ctx context.Context) error {
	begin := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.Client, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = w.LabelSelector })
	inf := factory.ForResource(w.Resource).Informer()
	factory.Start(stop)
	// A resource the cluster does not serve never syncs: bound that too.
	syncCtx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		return fmt.Errorf("watching %s (is it served?): %w", w.Resource, syncCtx.Err())
	}
	deadline := time.NewTimer(time.Until(begin.Add(w.Timeout)))
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		c := CountConditions(w.objects(inf.GetStore()), w.Successful, w.Failed)
		if w.Progress != nil {
			w.Progress(c)
		}
		if done, err := w.decide(c); done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d %s: %w (%s)", w.MinDesired, w.Resource, ctx.Err(), c.describe())
		case <-deadline.C:
			return fmt.Errorf("%d %s not there after %s: %s", w.MinDesired, w.Resource, w.Timeout, c.describe())
		case <-tick.C:
		}
	}
}

func (w *WaitForGenericK8sObjects) objects(store cache.Store) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range store.List() {
		u, ok := obj.(*unstructured.Unstructured)
		if ok && (w.Namespaces == nil || slices.Contains(w.Namespaces, u.GetNamespace())) {
			out = append(out, u)
		}
	}
	return out
}

func (c ObjectConditions) describe() string {
	return fmt.Sprintf("%d successful, %d failed, %d exist", len(c.Successful), len(c.Failed), c.Count)
}
