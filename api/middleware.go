package api

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// authenticate requires "Authorization: Bearer <token>" when a token is configured: 401 when
// the header is missing or malformed, 403 when the token is wrong.
func (a *API) authenticate(next http.Handler) http.Handler {
	if a.token == "" {
		return next
	}
	want := []byte(a.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, got, ok := strings.Cut(h, " ")
		if h == "" {
			a.metrics.authFailures.WithLabelValues(authMissing).Inc()
			a.writeError(w, r, &httpError{status: http.StatusUnauthorized, field: "Authorization", msg: "authorization required: send \"Authorization: Bearer <token>\""})
			return
		}
		got = strings.TrimSpace(got)
		if !ok || !strings.EqualFold(scheme, "Bearer") || got == "" {
			a.metrics.authFailures.WithLabelValues(authMalformed).Inc()
			a.writeError(w, r, &httpError{status: http.StatusUnauthorized, field: "Authorization", msg: "malformed Authorization header: want \"Bearer <token>\""})
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			a.metrics.authFailures.WithLabelValues(authInvalid).Inc()
			a.writeError(w, r, &httpError{status: http.StatusForbidden, field: "Authorization", msg: "invalid token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// guardWrites refuses the writes a web page could send from another site without a CORS
// preflight (issue 11, item 2): every POST must say Content-Type: application/json, even
// without a body (a form or text/plain POST is a "simple" request no browser asks about), and
// a write carrying an Origin must come from one of the CORS origins. Reads are left alone: the
// browser does not let another site read their answers.
func (a *API) guardWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !originAllowed(a.corsOrigins, o) && !a.fromOwnPage(r, o) {
			a.metrics.authFailures.WithLabelValues(authOrigin).Inc()
			a.writeError(w, r, &httpError{status: http.StatusForbidden, field: "Origin",
				msg: fmt.Sprintf("writes from origin %q are not allowed (CORS_ORIGINS)", o)})
			return
		}
		if r.Method == http.MethodPost {
			if err := requireJSON(r.Header.Values("Content-Type")); err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// fromOwnPage reports whether a write comes from the admin page this server serves: its
// Origin names the host the request was sent to. A DNS-rebinding page (evil.example resolving
// to this server) looks the same, so without a token only hosts no attacker can rebind pass:
// IP literals and localhost. With a token the page needs it too, and a rebinding page
// cannot read it (sessionStorage is per origin).
func (a *API) fromOwnPage(r *http.Request, origin string) bool {
	if a.ui == nil {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
		return false
	}
	if a.token != "" {
		return true
	}
	host := u.Hostname()
	return net.ParseIP(host) != nil || strings.EqualFold(host, "localhost")
}

// originAllowed reports whether origin is one of allowed ("*" allows any). Origins compare
// case-insensitively, as the CORS middleware does.
func originAllowed(allowed []string, origin string) bool {
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	return false
}

// requireJSON refuses a content type other than application/json, with at most a charset
// parameter of utf-8 (or utf8). The decoder reads UTF-8 only (RFC 8259, section 8.1), so a
// body announced in another charset would be misread; other +json types and parameters
// promise semantics (merge-patch, profiles) that no route has. cts holds every value of the
// header: a request with two (application/json and text/plain) is refused rather than read
// by its first, as a query parameter given twice is.
func requireJSON(cts []string) error {
	if len(cts) > 1 {
		return errContentType(fmt.Sprintf("content type given %d times; give it once", len(cts)))
	}
	ct := ""
	if len(cts) == 1 {
		ct = cts[0]
	}
	if ct == "" {
		return errContentType("content type must be application/json (also on a POST without a body)")
	}
	mt, params, err := mime.ParseMediaType(ct) // lower-cases the type and parameter names
	ok := err == nil && mt == "application/json"
	for name, value := range params {
		ok = ok && name == "charset" && (strings.EqualFold(value, "utf-8") || strings.EqualFold(value, "utf8"))
	}
	if ok {
		return nil
	}
	return errContentType("content type must be application/json, optionally with charset=utf-8, got " + strconv.Quote(ct))
}

func errContentType(msg string) error {
	return &httpError{status: http.StatusUnsupportedMediaType, field: "Content-Type", msg: msg}
}

// knownMethods bounds the method label of the request metrics.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// instrument counts and times every request by chi route pattern (never the raw path, so
// the label stays bounded).
func (a *API) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			route = "preflight" // answered by the CORS middleware before routing
		}
		method := r.Method
		if !knownMethods[method] {
			method = "other"
		}
		code := ww.Status()
		if code == 0 {
			code = http.StatusOK
		}
		a.metrics.requests.WithLabelValues(route, method, fmt.Sprint(code)).Inc()
		a.metrics.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// recoverPanics turns a handler panic into a logged 500 with a JSON body.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
