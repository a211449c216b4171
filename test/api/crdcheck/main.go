// crdcheck validates a CRD with the apiserver's own code (k8s.io/apiextensions-apiserver): the
// checks kube-apiserver runs on CRD create (structural schema, defaults, CEL compilation and cost),
// then, for each object in cases.json, what it runs on a custom resource write (structural
// defaulting, OpenAPI validation, CEL rules). It prints the errors as JSON.
//
// A test peer for test/api/apiserver-check.test.ts, built by `scripts/peers install crdcheck`.
//
// Usage: crdcheck CRD.yaml [cases.json]   (cases.json: [{"name": …, "object": {…}}])
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

type testCase struct {
	Name   string                 `json:"name"`
	Object map[string]interface{} `json:"object"`
}

type result struct {
	Name      string                 `json:"name"`
	Errors    []string               `json:"errors"`
	Defaulted map[string]interface{} `json:"defaulted"`
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	must(err)
	var v1crd apiextensionsv1.CustomResourceDefinition
	must(yaml.UnmarshalStrict(raw, &v1crd))
	scheme := runtime.NewScheme()
	must(apiextensionsv1.AddToScheme(scheme))
	must(apiextensionsinternal.AddToScheme(scheme))
	scheme.Default(&v1crd)
	var crd apiextensionsinternal.CustomResourceDefinition
	must(scheme.Convert(&v1crd, &crd, nil))
	errs := validation.ValidateCustomResourceDefinition(context.Background(), &crd)
	for _, e := range errs {
		fmt.Println("CRD INVALID:", e.Error())
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "CRD valid")
	if len(os.Args) < 3 {
		return
	}
	ver := crd.Spec.Versions[0]
	var schemaProps *apiextensionsinternal.JSONSchemaProps
	if ver.Schema != nil {
		schemaProps = ver.Schema.OpenAPIV3Schema
	} else {
		schemaProps = crd.Spec.Validation.OpenAPIV3Schema
	}
	ss, err := structuralschema.NewStructural(schemaProps)
	must(err)
	validator, _, err := apiservervalidation.NewSchemaValidator(schemaProps)
	must(err)
	celValidator := cel.NewValidator(ss, true, celconfig.PerCallLimit)
	casesRaw, err := os.ReadFile(os.Args[2])
	must(err)
	var cases []testCase
	must(json.Unmarshal(casesRaw, &cases))
	var out []result
	for _, c := range cases {
		obj := runtime.DeepCopyJSONValue(c.Object).(map[string]interface{})
		structuraldefaulting.Default(obj, ss)
		var msgs []string
		for _, e := range apiservervalidation.ValidateCustomResource(field.NewPath(""), obj, validator) {
			msgs = append(msgs, e.Error())
		}
		celErrs, _ := celValidator.Validate(context.Background(), nil, ss, obj, nil, celconfig.RuntimeCELCostBudget)
		for _, e := range celErrs {
			msgs = append(msgs, e.Error())
		}
		out = append(out, result{Name: c.Name, Errors: msgs, Defaulted: obj})
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Println(string(b))
}
