// Returns a friendly greeting.
function greet(name) {
  return 'Helo, ' + name + '!';
}

module.exports = { greet };
