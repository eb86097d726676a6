package volunteer

import "testing"

// TestEveryNeedActionHasItsFlash: the need page names every action of NeedFlow after it is taken;
// an action added to the flow without its words would say nothing.
func TestEveryNeedActionHasItsFlash(t *testing.T) {
	for _, a := range NeedFlow.Actions {
		if needDid[a.Name] == "" {
			t.Errorf("NeedFlow's action %q has no flash in needDid", a.Name)
		}
	}
	for name := range needDid {
		if NeedFlow.To(name) == "" && name != "send_back" {
			t.Errorf("needDid names %q, which is no action of NeedFlow", name)
		}
	}
}
