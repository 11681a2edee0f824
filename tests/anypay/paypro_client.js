// Drives the published `payment-protocol` client (npm, by Anypay) against the server under test.
// `select <url> <currency>`: steps 1 and 2 (payment options, payment request), printed as JSON.
// `pay <url> <currency> <hex>`: steps 3 and 4 (payment verification, payment), printed as JSON.
const { Client } = require('payment-protocol')

async function main () {
  const [mode, url, currency, transaction] = process.argv.slice(2)
  const client = new Client(url)
  const choice = { chain: currency, currency }
  if (mode === 'select') {
    const options = await client.paymentOptions()
    const request = await client.paymentRequest(choice)
    return { options, request }
  }
  const payment = { ...choice, transactions: [{ tx: transaction }] }
  const verification = await client.paymentVerification(payment)
  const paid = await client.payment(payment)
  return { verification, paid }
}

main().then(
  result => { process.stdout.write(JSON.stringify(result)) },
  error => {
    const answer = error.response ? { status: error.response.status, data: error.response.data } : { message: String(error) }
    process.stdout.write(JSON.stringify({ error: answer }))
    process.exitCode = 1
  }
)
