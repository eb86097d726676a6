package bank

import "time"

// PhotoDecodes is how many photos have been decoded in full since the process started.
func PhotoDecodes() int64 { return photoDecodes.Load() }

// PhotoPeak is the most photos decoded at once since the process started.
func PhotoPeak() int64 { return photoPeak.Load() }

// PhotoSlots is how many photos may be decoded at once.
func PhotoSlots() int { return cap(photoSlots) }

// SetPhotoWait makes claims wait up to d for a decoding slot, and returns what puts it back.
func SetPhotoWait(d time.Duration) (restore func()) {
	old := photoWait.Swap(int64(d))
	return func() { photoWait.Store(old) }
}
