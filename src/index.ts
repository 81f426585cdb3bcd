export * from './gpu/device';
export * from './gpu/kernel';
export * from './gpu/buffers';
