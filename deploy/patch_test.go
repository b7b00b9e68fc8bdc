package deploy_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// patchFile applies a file of strategic-merge patches. Only the pod
// template's labels and annotations, its service account and token mount,
// and its containers' args and env are supported (merged as kustomize does:
// maps key by key, containers and env by name, args and scalars replaced);
// a patch that sets anything else is an error.
func (o *objects) patchFile(path string) error {
	p, err := decodeFile(path)
	if err != nil {
		return err
	}
	if len(p.services)+len(p.serviceAccounts)+len(p.roles)+len(p.roleBindings) > 0 {
		return fmt.Errorf("%s: only Deployment and Job patches are supported", path)
	}
	targets := o.templates()
	for _, d := range p.deployments {
		if err := patchWorkload(targets, "Deployment/"+d.Name, &d.Spec.Template, onlyTemplateDeployment(d)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	for _, j := range p.jobs {
		if err := patchWorkload(targets, "Job/"+j.Name, &j.Spec.Template, onlyTemplateJob(j)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// onlyTemplateDeployment reports whether d sets nothing but its identity
// and pod template.
func onlyTemplateDeployment(d *appsv1.Deployment) bool {
	rest := *d
	rest.TypeMeta, rest.Name, rest.Spec.Template = metav1.TypeMeta{}, "", corev1.PodTemplateSpec{}
	return isZero(rest)
}

// onlyTemplateJob reports whether j sets nothing but its identity and pod
// template.
func onlyTemplateJob(j *batchv1.Job) bool {
	rest := *j
	rest.TypeMeta, rest.Name, rest.Spec.Template = metav1.TypeMeta{}, "", corev1.PodTemplateSpec{}
	return isZero(rest)
}

func patchWorkload(targets map[string]*corev1.PodTemplateSpec, key string, patch *corev1.PodTemplateSpec, onlyTemplate bool) error {
	dst, ok := targets[key]
	if !ok {
		return fmt.Errorf("patch of %s: no such object", key)
	}
	if !onlyTemplate {
		return fmt.Errorf("patch of %s sets fields outside spec.template", key)
	}
	if err := checkSupported(patch); err != nil {
		return fmt.Errorf("patch of %s: %w", key, err)
	}
	dst.Labels = mergeMap(dst.Labels, patch.Labels)
	dst.Annotations = mergeMap(dst.Annotations, patch.Annotations)
	if patch.Spec.ServiceAccountName != "" {
		dst.Spec.ServiceAccountName = patch.Spec.ServiceAccountName
	}
	if patch.Spec.AutomountServiceAccountToken != nil {
		dst.Spec.AutomountServiceAccountToken = patch.Spec.AutomountServiceAccountToken
	}
	for _, pc := range patch.Spec.Containers {
		c := findContainer(dst.Spec.Containers, pc.Name)
		if c == nil {
			return fmt.Errorf("patch of %s: no container %q", key, pc.Name)
		}
		if pc.Args != nil {
			c.Args = pc.Args
		}
		c.Env = mergeEnv(c.Env, pc.Env)
	}
	return nil
}

// checkSupported fails when patch sets a field patchWorkload does not merge.
func checkSupported(patch *corev1.PodTemplateSpec) error {
	rest := *patch
	rest.Labels, rest.Annotations = nil, nil
	rest.Spec.Containers, rest.Spec.ServiceAccountName, rest.Spec.AutomountServiceAccountToken = nil, "", nil
	if !isZero(rest) {
		return fmt.Errorf("sets pod template fields other than labels, annotations, serviceAccountName, automountServiceAccountToken and containers")
	}
	for _, c := range patch.Spec.Containers {
		c.Name, c.Args, c.Env = "", nil, nil
		if !isZero(c) {
			return fmt.Errorf("sets container fields other than args and env")
		}
	}
	return nil
}

func mergeMap(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func findContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func mergeEnv(dst, src []corev1.EnvVar) []corev1.EnvVar {
	for _, e := range src {
		replaced := false
		for i := range dst {
			if dst[i].Name == e.Name {
				dst[i], replaced = e, true
			}
		}
		if !replaced {
			dst = append(dst, e)
		}
	}
	return dst
}
