package bank

// PhotoDecodes is how many photos have been decoded in full since the process started.
func PhotoDecodes() int64 { return photoDecodes.Load() }
