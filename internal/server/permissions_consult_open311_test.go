package server_test

import "testing"

// consultOpen311Matrix holds 微协商's rows for Open311 and its clients' keys.
var consultOpen311Matrix = []perm{}

// consultOpen311 makes the fixture's objects for Open311 and its clients' keys.
func (f *matrixFixture) consultOpen311(t *testing.T) {}
