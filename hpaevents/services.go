package hpaevents

import "github.com/kai-platform/kai-scaler/scaling"

// ServiceMap maps namespace/hpa to the managed service, for the sources that read HPAs by
// name; nil means every HPA is its own service.
type ServiceMap map[string]string

// NewServiceMap maps the services' HPAs; nil (every HPA) when services is empty.
func NewServiceMap(services []scaling.ManagedService) ServiceMap {
	if len(services) == 0 {
		return nil
	}
	m := ServiceMap{}
	for _, s := range services {
		m[s.Namespace+"/"+s.HPAName()] = s.Name
	}
	return m
}

// Lookup returns the service of namespace/hpa; false when the HPA is not a managed service's.
func (m ServiceMap) Lookup(namespace, hpa string) (string, bool) {
	if m == nil {
		return hpa, true
	}
	s, ok := m[namespace+"/"+hpa]
	return s, ok
}
