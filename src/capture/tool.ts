/** The program that writes captures, as recorded in their metadata (a test keeps it equal to package.json). */
export const TOOL = { name: 'wirestep', version: '0.1.0' } as const;
