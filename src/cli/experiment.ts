// `webgpu-transfer experiment <name>`: the transfer experiments (tables, JSON and charts under results/<name>/).
export async function runExperimentCommand(args: string[]): Promise<void> {
  throw new Error(`experiment: not available yet (${args.join(' ')})`);
}
