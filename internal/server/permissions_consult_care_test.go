package server_test

import "testing"

// consultCareMatrix holds 微协商's rows for the care team, visits and the care schedule.
var consultCareMatrix = []perm{}

// consultCare makes the fixture's objects for the care team, visits and the care schedule.
func (f *matrixFixture) consultCare(t *testing.T) {}
