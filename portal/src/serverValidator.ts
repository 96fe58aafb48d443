/**
 * The form's validator (rjsf's ValidatorType) without AJV: AJV compiles schemas with `new Function`, which the portal's
 * Content-Security-Policy forbids, so forms failed in real browsers. Field errors come from the server's own checks
 * instead (a dry run as the user types, and the request itself: RequestForm), which keeps every rule — schema, CEL,
 * the kind's own — in one place (ADR 0017). rjsf still asks which anyOf/oneOf branch a value is in: schemaMatch answers.
 */
import type { RJSFSchema, ValidatorType } from '@rjsf/utils';
import { schemaMatches } from './schemaMatch.ts';

export const serverValidator: ValidatorType<unknown, RJSFSchema> = {
  validateFormData: () => ({ errors: [], errorSchema: {} }),
  isValid: (schema, formData) => schemaMatches(schema, formData),
  rawValidation: () => ({ errors: [] }),
};
