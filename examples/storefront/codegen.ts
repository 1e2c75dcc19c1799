import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**"],
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        // One entry for every `scalar` of schema.graphql; strictScalars fails the run on a new one.
        scalars: {
          Date: "string", // ISO 8601 calendar date: "2026-11-25"
          DateTime: "string", // ISO 8601, UTC: "2026-11-25T09:30:00+00:00"
          Decimal: "string", // "57.67": never a float; parse with a decimal library if you compute
          UUID: "string",
          Upload: "File", // input only: a multipart request (productImageUpload)
        },
        strictScalars: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
