import type { Plugin } from 'esbuild';

export declare const englishOnlyZod: Plugin;
