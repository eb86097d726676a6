package server_test

import "testing"

// consultReferralsMatrix holds 微协商's rows for referrals to departments and the department directory.
var consultReferralsMatrix = []perm{}

// consultReferrals makes the fixture's objects for referrals to departments and the department directory.
func (f *matrixFixture) consultReferrals(t *testing.T) {}
