// Public surface of the API.
export { createApp, type AppOptions } from './app.ts';
export { openApiDocument } from './openapi.ts';
export { RateLimiter } from './auth.ts';
