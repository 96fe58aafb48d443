/** The portal shows the server's 422 causes on the fields they name. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../portal/src/api.ts';
import { fieldErrors } from '../../portal/src/fieldErrors.ts';

describe('fieldErrors', () => {
  it('puts each cause on its field under spec, nested and listed', () => {
    const err = new ApiError(422, 'Invalid', 'App.marketplace.kratix.io "x" is invalid', [
      { field: 'spec.replicas', message: 'Invalid value: 99: must be <= 50' },
      { field: 'spec.service.port', message: 'Invalid value: "a": must be an integer' },
      { field: 'spec.hosts[1]', message: 'Invalid value: "-"' },
      { field: 'spec.replicas', message: 'second' },
    ]);
    assert.deepEqual(fieldErrors(err), {
      replicas: { __errors: ['Invalid value: 99: must be <= 50', 'second'] },
      service: { port: { __errors: ['Invalid value: "a": must be an integer'] } },
      hosts: { 1: { __errors: ['Invalid value: "-"'] } },
    });
  });

  it('has nothing to place for other errors', () => {
    assert.equal(fieldErrors(new ApiError(403, 'Forbidden', 'no')), undefined);
    assert.equal(fieldErrors(new Error('network')), undefined);
  });
});
