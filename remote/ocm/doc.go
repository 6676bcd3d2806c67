// Package ocm is Oracle Content Management's Documents API as a
// remote.Backend.
package ocm
