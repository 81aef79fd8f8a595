package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPIDocument is the OpenAPI 3 description of every route, hand-written and served at
// GET /api/openapi.json. Tests check it against the router and the handlers' answers.
//
//go:embed openapi.json
var openAPIDocument []byte

func (a *API) getOpenAPI(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	return json.RawMessage(openAPIDocument), nil
}
