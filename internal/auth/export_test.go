package auth

// HashWith is hashWith, for TestPasswordHash to hash at the production cost in a test binary.
var HashWith = hashWith
