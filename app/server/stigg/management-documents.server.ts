// The GraphQL documents for what the server SDK does not do: publishing the catalog to Stigg as
// features and plans, and reading a plan back (ops stigg:check). Written from Stigg's GraphQL
// reference (createFeature, createOnePlan, createPackageEntitlements, publishPlan); the local
// Stigg parses every request and compares it with these, as it does the SDK's own documents.
import { parse } from "graphql";

const gql = (text: TemplateStringsArray) => parse(text.join(""));

export const CreateFeatureDocument = gql`
  mutation CreateFeature($input: CreateFeatureInput!) {
    createFeature(input: $input) {
      refId
      featureType
      meterType
    }
  }
`;

export const CreatePlanDocument = gql`
  mutation CreatePlan($input: PlanCreateInput!) {
    createOnePlan(input: $input) {
      id
      refId
      status
      versionNumber
    }
  }
`;

export const CreatePackageEntitlementsDocument = gql`
  mutation CreatePackageEntitlements($input: CreatePackageEntitlementsInput!) {
    createPackageEntitlements(input: $input) {
      __typename
      ... on PackageFeatureEntitlement {
        featureId
        usageLimit
        hasUnlimitedUsage
      }
    }
  }
`;

export const PublishPlanDocument = gql`
  mutation PublishPlan($input: PackagePublishInput!) {
    publishPlan(input: $input) {
      taskId
    }
  }
`;

export const GetPlanDocument = gql`
  query GetPlan($input: GetPackageByRefIdInput!) {
    plan: getPlanByRefId(input: $input) {
      id
      refId
      status
      additionalMetaData
      entitlements {
        featureId
        usageLimit
        hasUnlimitedUsage
      }
    }
  }
`;
