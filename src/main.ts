// First: sizes libuv's thread pool before anything uses it.
import './threadpool';
import 'reflect-metadata';
import { createApp } from './bootstrap';
import { ConfigError, loadConfig } from './modules/config/app-config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  console.error('The service failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
