package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const imagePrefix = "ko://github.com/meshmatch/meshmatch/"

func (c *checker) checkPod(name string, tmpl *corev1.PodTemplateSpec) {
	spec := tmpl.Spec
	c.checkIdentity(name, &spec)
	c.checkInjection(name, tmpl)
	for i := range spec.Containers {
		c.checkContainer(name, &spec.Containers[i])
		if c.mode.grpcAgent && hasEnv(&spec.Containers[i], "MESHMATCH_STRATEGY") {
			c.checkDownwardAPI(name, &spec.Containers[i])
		}
	}
}

func (c *checker) checkInjection(name string, tmpl *corev1.PodTemplateSpec) {
	if got := tmpl.Labels["sidecar.istio.io/inject"] == "true"; got != c.mode.inject {
		c.errorf("%s: sidecar.istio.io/inject=true is %v, want %v", name, got, c.mode.inject)
	}
	gotAgent := tmpl.Annotations["inject.istio.io/templates"] == "grpc-agent"
	if gotAgent != c.mode.grpcAgent {
		c.errorf("%s: inject.istio.io/templates=grpc-agent is %v, want %v", name, gotAgent, c.mode.grpcAgent)
	}
	if !c.mode.grpcAgent {
		return
	}
	cfg, err := proxyConfig(tmpl)
	c.fail(name, err)
	if cfg["holdApplicationUntilProxyStarts"] != true {
		c.errorf("%s: proxy.istio.io/config = %v, want holdApplicationUntilProxyStarts: true", name, cfg)
	}
}

func (c *checker) checkContainer(pod string, ct *corev1.Container) {
	name := pod + " container " + ct.Name
	example := strings.TrimPrefix(ct.Image, imagePrefix)
	if _, err := os.Stat(filepath.Join("..", example, "main.go")); !strings.HasPrefix(ct.Image, imagePrefix) || err != nil {
		c.errorf("%s: image %q is not %s<a command of this module>", name, ct.Image, imagePrefix)
	}
	if c.mode.strategy == "endpointslice" && hasEnv(ct, "MESHMATCH_STRATEGY") {
		ok, err := importsStrategy(filepath.Join("..", example))
		c.fail(name, err)
		if !ok {
			c.errorf("%s: %s does not import balancer/endpointslice, so MESHMATCH_STRATEGY=endpointslice names no strategy", name, example)
		}
	}
	req := ct.Resources.Requests
	if req.Cpu().IsZero() || req.Memory().IsZero() {
		c.errorf("%s: want cpu and memory requests, got %v", name, req)
	}
	if len(ct.Ports) > 0 {
		c.checkProbe(name+" readiness", ct, ct.ReadinessProbe)
		c.checkProbe(name+" liveness", ct, ct.LivenessProbe)
	}
	for _, e := range ct.Env {
		c.checkEnv(name, e)
	}
	c.checkArgs(name, ct.Args)
}

func (c *checker) checkProbe(name string, ct *corev1.Container, p *corev1.Probe) {
	if p == nil || p.GRPC == nil {
		c.errorf("%s: want a probe on the gRPC health service", name)
		return
	}
	if containerPort(ct, intstr.FromInt32(p.GRPC.Port)) == nil {
		c.errorf("%s: probe port %d is not a container port", name, p.GRPC.Port)
	}
}

func (c *checker) checkEnv(name string, e corev1.EnvVar) {
	if !c.env[e.Name] {
		c.errorf("%s: env %s is not read by meshmatch", name, e.Name)
	}
	if e.Name == "MESHMATCH_STRATEGY" && e.Value != c.mode.strategy {
		c.errorf("%s: MESHMATCH_STRATEGY = %q, want %q", name, e.Value, c.mode.strategy)
	}
	if host, port, ok := strings.Cut(e.Value, ":"); ok && strings.HasSuffix(host, ".svc.cluster.local") {
		c.checkAddress(name+" env "+e.Name, host, port)
	}
}

// downward are the pod identity variables proxyless meshmatch reads.
var downward = map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace", "INSTANCE_IP": "status.podIP"}

func (c *checker) checkDownwardAPI(name string, ct *corev1.Container) {
	for env, path := range downward {
		var got string
		for _, e := range ct.Env {
			if e.Name == env && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				got = e.ValueFrom.FieldRef.FieldPath
			}
		}
		if got != path {
			c.errorf("%s: env %s from the downward API = %q, want fieldPath %s", name, env, got, path)
		}
	}
}

// checkArgs resolves "-X-host name -X-port n" flag pairs to Services.
func (c *checker) checkArgs(name string, args []string) {
	flags := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		flags[args[i]] = args[i+1]
	}
	for f, host := range flags {
		if prefix, ok := strings.CutSuffix(f, "-host"); ok {
			c.checkAddress(name+" "+f, host, flags[prefix+"-port"])
		}
	}
}

var svcHost = regexp.MustCompile(`^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$`)

// checkAddress checks that host:port names a Service port of the right kind
// for the mode: ClusterIP behind a sidecar, headless otherwise.
func (c *checker) checkAddress(what, host, port string) {
	m := svcHost.FindStringSubmatch(host)
	n, err := strconv.Atoi(port)
	if m == nil || err != nil {
		c.errorf("%s: %s:%s is not <service>.<namespace>.svc.cluster.local:<port>", what, host, port)
		return
	}
	for _, s := range c.all.services {
		if s.Name != m[1] || s.Namespace != m[2] {
			continue
		}
		if headless := s.Spec.ClusterIP == corev1.ClusterIPNone; headless == c.mode.clusterIP {
			c.errorf("%s: Service %s/%s is headless=%v, want headless=%v in this mode", what, m[2], m[1], headless, !c.mode.clusterIP)
		}
		for _, p := range s.Spec.Ports {
			if p.Port == int32(n) {
				return
			}
		}
		c.errorf("%s: Service %s/%s has no port %d", what, m[2], m[1], n)
		return
	}
	c.errorf("%s: no Service %s in namespace %s", what, m[1], m[2])
}

func (c *checker) checkService(s *corev1.Service) {
	var pods []*corev1.PodTemplateSpec
	for _, d := range c.objs.deployments {
		if d.Namespace == s.Namespace && subset(s.Spec.Selector, d.Spec.Template.Labels) {
			pods = append(pods, &d.Spec.Template)
		}
	}
	if len(pods) == 0 {
		c.errorf("Service %s/%s: selector %v matches no Deployment's pods", s.Namespace, s.Name, s.Spec.Selector)
	}
	for _, pod := range pods {
		for _, p := range s.Spec.Ports {
			if !podHasPort(pod, p.TargetPort) {
				c.errorf("Service %s port %d: targetPort %s is not a container port of the pods it selects", s.Name, p.Port, p.TargetPort.String())
			}
		}
	}
}

func podHasPort(pod *corev1.PodTemplateSpec, target intstr.IntOrString) bool {
	for i := range pod.Spec.Containers {
		if containerPort(&pod.Spec.Containers[i], target) != nil {
			return true
		}
	}
	return false
}

func containerPort(ct *corev1.Container, target intstr.IntOrString) *corev1.ContainerPort {
	for i, p := range ct.Ports {
		if (target.Type == intstr.String && p.Name == target.StrVal) || (target.Type == intstr.Int && p.ContainerPort == target.IntVal) {
			return &ct.Ports[i]
		}
	}
	return nil
}

func hasEnv(ct *corev1.Container, name string) bool {
	for _, e := range ct.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}
