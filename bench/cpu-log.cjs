// `node -r ./bench/cpu-log.cjs …`: at exit, append the process's CPU time (user + system, µs,
// since the process started: getrusage) to $TSOPS_CPU_LOG. CPU time depends far less on the
// machine's load than wall-clock time does, so two variants of a command compare fairly on a
// busy machine.
const fs = require('node:fs')
process.once('exit', () => {
  const { user, system } = process.cpuUsage()
  if (process.env.TSOPS_CPU_LOG) fs.appendFileSync(process.env.TSOPS_CPU_LOG, `${user + system}\n`)
})
