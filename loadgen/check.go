package loadgen

import (
	"fmt"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// CheckObject checks, without a cluster, what the API server would refuse
// of an object of a built-in API group: a version or kind the group does
// not have, fields the kind does not have, values of the wrong type. An
// object of another group (a custom resource) passes: only the cluster
// knows its schema.
func CheckObject(obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	if !scheme.Scheme.IsGroupRegistered(gvk.Group) {
		return nil
	}
	if !scheme.Scheme.IsVersionRegistered(gvk.GroupVersion()) {
		return fmt.Errorf("apiVersion %s: the API group %q has no version %q", obj.GetAPIVersion(), gvk.Group, gvk.Version)
	}
	typed, err := scheme.Scheme.New(gvk)
	if err != nil {
		return fmt.Errorf("kind %s: %s has no such kind", gvk.Kind, obj.GetAPIVersion())
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, typed, true); err != nil {
		return fmt.Errorf("not a valid %s %s: %w", obj.GetAPIVersion(), gvk.Kind, err)
	}
	return nil
}

// nameRules are the kinds whose names Kubernetes holds to a rule stricter
// than a DNS-1123 subdomain (253 characters), each with its validation.
var nameRules = map[string]func(string, bool) []string{
	"Service":     apivalidation.NameIsDNS1035Label,
	"Namespace":   apivalidation.ValidateNamespaceName,
	"StatefulSet": apivalidation.NameIsDNSLabel,
}

// CheckName says why the API server would refuse name for an object of
// kind, or returns nil.
func CheckName(kind, name string) error {
	rule, ok := nameRules[kind]
	if !ok {
		rule = apivalidation.NameIsDNSSubdomain
	}
	if errs := rule(name, false); len(errs) > 0 {
		return fmt.Errorf("name %q of a %s: %s", name, kind, strings.Join(errs, "; "))
	}
	return nil
}
