package consult

// registerOpen311 is a placeholder until the part is built; the file goes when it is.
func (h *Handlers) registerOpen311() {}
