package endpointslice_test

import (
	"log"

	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/omclient"
)

// In a pod the zero Strategy reads the service account's credentials; the
// ServiceAccount needs list and watch on endpointslices in namespace
// open-match.
func Example() {
	fe, err := omclient.DialFrontend("open-match-frontend.open-match.svc.cluster.local:50504",
		omclient.WithStrategy(&endpointslice.Strategy{}))
	if err != nil {
		log.Fatal(err)
	}
	defer fe.Close()
}
