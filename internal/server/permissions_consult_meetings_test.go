package server_test

import "testing"

// consultMeetingsMatrix holds 微协商's rows for meetings: registrations, opinions, decisions, closing.
var consultMeetingsMatrix = []perm{}

// consultMeetings makes the fixture's objects for meetings: registrations, opinions, decisions, closing.
func (f *matrixFixture) consultMeetings(t *testing.T) {}
