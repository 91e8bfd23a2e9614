import { KubeConfig, ListWatch, Watch } from '@kubernetes/client-node';
it('loads client-node', () => {
  expect(typeof KubeConfig).toBe('function');
  expect(typeof ListWatch).toBe('function');
  expect(typeof Watch).toBe('function');
});
