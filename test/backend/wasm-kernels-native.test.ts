import { test } from 'node:test';
import { loadNativeBlas, nativeBlasStatus } from '../../src/backend/wasm/native-blas.js';

// The same cases as wasm-kernels.test.ts, with the optional native BLAS addon routing the products
// and convolution gradients, where this machine can build it (a C compiler, Node's headers, a BLAS).
if (loadNativeBlas(true)) {
  process.env.UNFORGET_NATIVE_BLAS = '1';
  await import('./wasm-kernels.test.js');
} else {
  test(
    'wasm kernels with the native BLAS addon',
    { skip: `no native BLAS here: ${nativeBlasStatus()}` },
    () => {},
  );
}
