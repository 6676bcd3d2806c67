package pending

import "sync/atomic"

var testHookCrash atomic.Pointer[func(point, name string)]

// SetTestHookCrash makes every crash point call h (nil: none), for the
// front's tests, which cannot reach this package's own names: a test
// stops a Store there as kill -9 would (h blocks the goroutine, the test
// cuts its backend off), and starts another on a copy of the cache
// directory.
func SetTestHookCrash(h func(point, name string)) {
	if h == nil {
		testHookCrash.Store(nil)
		return
	}
	testHookCrash.Store(&h)
}

// testCrash calls the hook SetTestHookCrash set, if any.
func testCrash(point, name string) {
	if h := testHookCrash.Load(); h != nil {
		(*h)(point, name)
	}
}
