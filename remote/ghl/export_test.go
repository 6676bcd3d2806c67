package ghl

// RouteRefused reports whether the service was seen to have no route
// (such as "POST /medias/{id}") for this token.
func (c *Client) RouteRefused(route string) bool { return c.refusedRoute(route) != nil }
